"""The rendered data-plane pod's own commands, run here: the bootstrap init container prepares a prefix that
the nginx container's command serves its probes from, and the preStop hook drains nginx and returns only
once the master has exited (the kubelet's SIGTERM after the hook would be a fast shutdown)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.charts.local_pod import LocalPod
from tests.charts.manifests import REPO, find, pod_template
from tests.support.lb import free_port, wait_until


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status, response.read().decode()


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False


@pytest.fixture
def dataplane_pod(rendered, tmp_path):
    spec = pod_template(find(rendered["single-node"], "Deployment", "lb-dataplane"))["spec"]
    fields = {"metadata.name": "lb-dataplane-5d8f7c9b4-x2x9z", "status.podIP": "127.0.0.1"}
    return spec, LocalPod.from_render(rendered["single-node"], spec, tmp_path, fields)


def _run_env(pod: LocalPod, container: dict, status_port: int) -> tuple[dict[str, str], dict]:
    paths = pod.mount_paths(container)
    env = pod.environment(container, paths)
    declared = {p["name"]: p["containerPort"] for c in pod.pod_spec["containers"] for p in c.get("ports", [])}
    if "LB_STATUS_PORT" in env:
        assert int(env["LB_STATUS_PORT"]) == declared["status"]  # what the probes and Prometheus call
        env["LB_STATUS_PORT"] = str(status_port)  # 8099 may be taken by `make run` on this machine
    return env, paths


def test_bootstrap_then_nginx_serve_the_probe_and_prestop_drains_to_exit(dataplane_pod):
    spec, pod = dataplane_pod
    status_port = free_port()
    (bootstrap,) = spec["initContainers"]
    env, paths = _run_env(pod, bootstrap, status_port)
    argv = pod.command(bootstrap, env, paths)
    assert argv[0] == "python"
    subprocess.run(
        [sys.executable, *argv[1:]],
        env={**os.environ, **env, "PYTHONPATH": str(REPO)},
        check=True,
        timeout=60,
    )

    nginx = next(c for c in spec["containers"] if c["name"] == "nginx")
    env, paths = _run_env(pod, nginx, status_port)
    argv = pod.command(nginx, env, paths)
    assert argv[0] == "nginx" and shutil.which("nginx")
    probe = nginx["readinessProbe"]["httpGet"]["path"]
    url = f"http://127.0.0.1:{status_port}"
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: _answers(url + probe), 10, "the readiness probe to answer")
        assert _get(url + "/revision") == (200, "0\n")

        hook = pod.command({"command": nginx["lifecycle"]["preStop"]["exec"]["command"]}, {}, paths)
        started = time.monotonic()
        drain = subprocess.Popen(hook, stdin=subprocess.DEVNULL)
        time.sleep(1)
        assert _answers(url + probe), "nginx stopped serving before endpoint removal could propagate"
        assert drain.wait(timeout=spec["terminationGracePeriodSeconds"]) == 0
        assert process.wait(timeout=5) == 0, "nginx did not quit gracefully"
        assert time.monotonic() - started < spec["terminationGracePeriodSeconds"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
