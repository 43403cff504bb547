"""Every secret the appliance reads reaches every one of its containers from the Secret `lb-secrets`.

A secret the manifests forgot would not fail at start: `StackConfig.secret` generates it into the pod's
own state directory, so each replica would get a different Django or encryption key. The names are taken
from the code (`.secret("name")` calls), so a secret added later must be wired here too.
"""

from __future__ import annotations

import re

import pytest

from tests.charts.local_pod import object_data
from tests.charts.manifests import REPO, containers, find, of_kind, pod_template

APPLIANCE_IMAGES = ("lb-appliance", "lb-dataplane")
# The launcher's own secrets configure the local services it starts (Redis's password is part of
# LB_REDIS_URL in a cluster); only what the Django project reads matters here.
SOURCES = ("appliance", "webui", "workers")
_SECRET_CALL_RE = re.compile(r"""\.secret\(\s*["']([a-z0-9-]+)["']\s*\)""")


def secrets_the_code_reads() -> set[str]:
    names = set()
    for source in SOURCES:
        for path in (REPO / source).rglob("*.py"):
            if "launcher" not in path.parts:
                names.update(_SECRET_CALL_RE.findall(path.read_text()))
    return names


def _django_containers(docs: list[dict]) -> list[dict]:
    """Containers of the appliance's images that run the Django project (all but nginx itself)."""
    return [
        container
        for workload in of_kind(docs, "Deployment", "Job")
        for container in containers(pod_template(workload)["spec"], init=False)
        if container["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1] in APPLIANCE_IMAGES
        and container["command"][0] != "nginx"
    ]


@pytest.mark.parametrize("overlay", ["single-node", "production"])
def test_each_secret_the_appliance_reads_comes_from_lb_secrets_in_every_container(rendered, overlay):
    names = secrets_the_code_reads()
    assert {"django-secret-key", "db-password"} <= names
    appliance = _django_containers(rendered[overlay])
    assert len(appliance) == 5  # web, worker, beat, migrate, node agent
    for container in appliance:
        env = {item["name"]: item.get("value") for item in container["env"]}
        mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
        for name in names:
            variable = "LB_" + name.upper().replace("-", "_") + "_FILE"
            assert env.get(variable) == f"/run/secrets/lb/{name}", (container["name"], variable)
        assert "/run/secrets/lb" in mounts, container["name"]


def test_the_demo_secret_has_a_value_for_each_of_them(rendered):
    docs = rendered["single-node"]
    (secret,) = [s for s in of_kind(docs, "Secret") if s["metadata"]["name"].startswith("lb-secrets-")]
    assert secrets_the_code_reads() <= object_data(secret).keys()
    web = pod_template(find(docs, "Deployment", "lb-web"))["spec"]
    assert {v["secret"]["secretName"] for v in web["volumes"] if "secret" in v} == {
        secret["metadata"]["name"]
    }
