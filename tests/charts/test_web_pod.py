"""The rendered web container, run here with nothing but its manifest's environment: its settings files and
`$(VAR)` references reach Django, it reaches PostgreSQL, Redis and S3 through them, and it answers the
kubelet's probes, which arrive with the pod IP as Host.

The Secret `lb-secrets` is filled from the local stack's settings; the pod IP is a made-up cluster address
so that only the manifest's `$(POD_IP)` in LB_ALLOWED_HOSTS can make Django accept it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.charts.local_pod import LocalPod
from tests.charts.manifests import REPO, find, pod_template
from tests.support.lb import free_port, wait_until

POD_IP = "10.244.7.31"
IMAGE_ENV = {"PYTHONPATH": str(REPO), "DJANGO_SETTINGS_MODULE": "appliance.settings"}  # the image's ENV


def lb_secrets(cfg) -> dict[str, str]:
    """The keys of the Secret `lb-secrets`, with the local stack's values."""
    return {
        "db-host": cfg.db_host,
        "db-port": str(cfg.db_port),
        "db-name": cfg.db_name,
        "db-user": cfg.db_user,
        "db-password": cfg.secret("db-password"),
        "redis-url": cfg.redis_url,
        "s3-endpoint": cfg.s3_endpoint,
        "s3-access-key": cfg.secret("s3-access-key"),
        "s3-secret-key": cfg.secret("s3-secret-key"),
        "django-secret-key": cfg.secret("django-secret-key"),
        "encryption-key": cfg.secret("encryption-key"),
    }


@pytest.fixture
def web_pod(infra, rendered, tmp_path):
    docs = rendered["single-node"]
    spec = pod_template(find(docs, "Deployment", "lb-web"))["spec"]
    pod = LocalPod.from_render(docs, spec, tmp_path, {"metadata.name": "lb-web-0", "status.podIP": POD_IP})
    (secret_name,) = {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    pod.objects[("Secret", secret_name)] = lb_secrets(infra.cfg)
    (container,) = spec["containers"]
    paths = pod.mount_paths(container)
    env = pod.environment(container, paths)
    argv = pod.command(container, env, paths)
    assert argv[0] == "gunicorn"
    port = free_port()
    bind = argv.index("-b") + 1
    assert argv[bind] == f"0.0.0.0:{container['ports'][0]['containerPort']}"
    argv[bind] = f"127.0.0.1:{port}"
    clean = {"PATH": os.environ["PATH"], **IMAGE_ENV, **env}
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", *argv], env=clean, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
    )
    yield container, f"http://127.0.0.1:{port}", Path(env["LB_STATE_DIR"])
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    log.close()


def _probe(url: str, host: str) -> requests.Response | None:
    try:
        return requests.get(url, headers={"Host": host}, timeout=10)
    except requests.ConnectionError:
        return None


def test_the_web_container_answers_probes_for_its_pod_ip_and_reaches_its_dependencies(web_pod):
    container, base, state_dir = web_pod
    liveness = container["livenessProbe"]["httpGet"]["path"]
    pod_host = f"{POD_IP}:{container['ports'][0]['containerPort']}"
    answered = wait_until(lambda: _probe(base + liveness, pod_host), 60, "the liveness probe to answer")
    assert answered.status_code == 200

    assert _probe(base + liveness, "attacker.example").status_code == 400  # other Host headers refused
    readiness = _probe(base + container["readinessProbe"]["httpGet"]["path"], pod_host)
    checks = readiness.json()["checks"]
    # nginx nodes and control workers are not part of this test; the settings-driven connections are.
    for dependency in ("database", "redis", "object_storage"):
        assert checks[dependency] == {"status": "ok"}, checks
    # Every secret came from the Secret: none had to be generated into the (per-pod) state directory.
    assert not (state_dir / "secrets").exists()
