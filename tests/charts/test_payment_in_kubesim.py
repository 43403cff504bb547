"""The rendered payment Deployment and Service, applied to tests/kubesim with `kubectl apply`, run as local
replicas, become ready endpoints and take payments; the appliance's ServiceAccount, holding the rendered
Roles, scales them through the scale subresource and may change nothing else.

Only the test adds what kubesim needs to run a pod as a local process (the `kubesim.lb/*` pod-template
annotations): the command is the container's own, bound to loopback; the environment is the container's
own, resolved by LocalPod, with the Secret `payment-secrets` filled from the local stack's settings
(`payment_env`). The database schema comes from running the rendered migrations Job's command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from appliance.launcher.services import payment_env
from tests.charts.local_pod import LocalPod
from tests.charts.manifests import KUBECTL, REPO, find, of_kind, pod_template
from tests.kubesim.harness import KubeSim, wait_until
from tests.kubesim.manifests import runnable_annotations
from tests.support.lb import free_port

OVERLAY = "single-node"
PAYMENT_DIR = REPO / "services" / "payment"
# key of the Secret `payment-secrets` -> the variable payment_env() sets to the local stack's value
SECRET_KEYS = {
    "secret-key": "PAYMENT_SECRET_KEY",
    "db-host": "PAYMENT_DB_HOST",
    "db-port": "PAYMENT_DB_PORT",
    "db-name": "PAYMENT_DB_NAME",
    "db-user": "PAYMENT_DB_USER",
    "db-password": "PAYMENT_DB_PASSWORD",
    "s3-endpoint": "PAYMENT_S3_ENDPOINT",
    "s3-access-key": "PAYMENT_S3_ACCESS_KEY",
    "s3-secret-key": "PAYMENT_S3_SECRET_KEY",
}
IMAGE_ENV = ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")  # set by the image (ENV), not by the manifest
READY_TIMEOUT = 60


@dataclass
class Cluster:
    sim: KubeSim
    namespace: str
    appliance_token: str


def local_pod(docs: list[dict], workload: dict, root: Path, stack_env: dict[str, str]) -> LocalPod:
    spec = pod_template(workload)["spec"]
    pod = LocalPod.from_render(docs, spec, root, {"metadata.name": workload["metadata"]["name"]})
    (secret_name,) = {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    pod.objects[("Secret", secret_name)] = {key: stack_env[var] for key, var in SECRET_KEYS.items()}
    return pod


def resolved_env(pod: LocalPod, container: dict, stack_env: dict[str, str]) -> dict[str, str]:
    env = pod.environment(container, pod.mount_paths(container))
    return {**{name: stack_env[name] for name in IMAGE_ENV}, **env}


def migrate(docs: list[dict], root: Path, stack_env: dict[str, str]) -> None:
    job = find(docs, "Job", "payment-migrate")
    pod = local_pod(docs, job, root, stack_env)
    (container,) = pod.pod_spec["containers"]
    env = resolved_env(pod, container, stack_env)
    argv = pod.command(container, env, {})
    assert argv[0] == "python"
    subprocess.run(
        [sys.executable, *argv[1:]], env={**os.environ, **env}, cwd=PAYMENT_DIR, check=True, timeout=120
    )


def local_argv(container: dict) -> list[str]:
    """The container's gunicorn command, bound to kubesim's port on loopback, with a per-replica id."""
    argv = [*container["command"], *container.get("args", [])]
    assert argv[0] == "gunicorn"
    bind = argv.index("-b") + 1
    (port,) = [p["containerPort"] for p in container["ports"] if p["name"] == "http"]
    assert argv[bind] == f"0.0.0.0:{port}"
    argv[bind] = "127.0.0.1:{port}"
    # The pod name reaches PAYMENT_INSTANCE_ID through the downward API in a cluster; here per replica.
    return ["env", "-C", str(PAYMENT_DIR), "PAYMENT_INSTANCE_ID={instance}", sys.executable, "-m", *argv]


def runnable(docs: list[dict], root: Path, stack_env: dict[str, str]) -> dict:
    deployment = find(docs, "Deployment", "payment")
    pod = local_pod(docs, deployment, root, stack_env)
    (container,) = pod.pod_spec["containers"]
    env = resolved_env(pod, container, stack_env)
    env.pop("PAYMENT_INSTANCE_ID")
    low = free_port()
    annotations = runnable_annotations(
        local_argv(container),
        f"{low}-{min(low + 20, 65535)}",
        readiness_path=container["readinessProbe"]["httpGet"]["path"],
        env=env,
    )
    patched = json.loads(json.dumps(deployment))
    patched["spec"]["template"]["metadata"].setdefault("annotations", {}).update(annotations)
    return patched


def appliance_rules(docs: list[dict], namespace: str) -> list[dict]:
    """The rendered Roles bound to the appliance's account, as kubesim rules (it has no resourceNames;
    test_rbac checks those)."""
    roles = {
        r["metadata"]["name"]: r for r in of_kind(docs, "Role") if r["metadata"]["namespace"] == namespace
    }
    rules = []
    for binding in of_kind(docs, "RoleBinding"):
        if binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "lb-appliance", "namespace": namespace}
        ]:
            for rule in roles[binding["roleRef"]["name"]]["rules"]:
                keys = ("apiGroups", "resources", "verbs")
                rules.append({**{k: rule[k] for k in keys}, "namespaces": [namespace]})
    return rules


@pytest.fixture(scope="module")
def cluster(infra, rendered, tmp_path_factory):
    docs = rendered[OVERLAY]
    root = tmp_path_factory.mktemp("kubesim-payment")
    stack_env = payment_env(infra.cfg, "unused")
    migrate(docs, root / "migrate", stack_env)
    namespace = find(docs, "Deployment", "payment")["metadata"]["namespace"]
    token = uuid.uuid4().hex
    rbac = {
        "users": [
            {
                "name": f"system:serviceaccount:{namespace}:lb-appliance",
                "token": token,
                "rules": appliance_rules(docs, namespace),
            }
        ]
    }
    objects = [
        find(docs, "Namespace", namespace),
        find(docs, "Service", "payment"),
        runnable(docs, root / "pod", stack_env),
    ]
    manifest = root / "payment.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    with KubeSim.start(root / "kubesim", rbac=rbac) as sim:
        subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(sim.kubeconfig_path), "apply", "-f", str(manifest)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield Cluster(sim, namespace, token)


def ready_endpoints(api: client.ApiClient, namespace: str) -> list[tuple[str, int]]:
    """(pod name, port) of every ready endpoint of the Service `payment`, across all its slices."""
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        namespace, label_selector="kubernetes.io/service-name=payment"
    )
    return sorted(
        (endpoint.target_ref.name, piece.ports[0].port)
        for piece in slices.items
        for endpoint in piece.endpoints or []
        if endpoint.conditions.ready
    )


def wait_for_ready(api: client.ApiClient, namespace: str, count: int) -> list[tuple[str, int]]:
    def exactly() -> list[tuple[str, int]] | None:
        found = ready_endpoints(api, namespace)
        return found if len(found) == count else None

    return wait_until(exactly, READY_TIMEOUT, interval=0.2, message=f"{count} ready payment endpoints")


def test_the_rendered_payment_service_runs_in_kubesim_and_takes_payments(cluster):
    api = cluster.sim.api_client()
    replicas = client.AppsV1Api(api).read_namespaced_deployment("payment", cluster.namespace).spec.replicas
    endpoints = wait_for_ready(api, cluster.namespace, replicas)
    for pod_name, port in endpoints:
        body = {
            "amount": "12.50",
            "currency": "EUR",
            "payer": "alice",
            "payee": "bob",
            "reference": "kubesim",
        }
        response = requests.post(
            f"http://127.0.0.1:{port}/payments",
            json=body,
            headers={"Idempotency-Key": uuid.uuid4().hex},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        assert response.headers["X-Instance"] == pod_name
        assert response.json()["receipt_key"]


def test_the_appliance_account_scales_payment_through_the_scale_subresource_only(cluster):
    admin = cluster.sim.api_client()
    appliance = cluster.sim.api_client(token=cluster.appliance_token)
    apps = client.AppsV1Api(appliance)
    current = apps.read_namespaced_deployment_scale("payment", cluster.namespace).spec.replicas
    wait_for_ready(admin, cluster.namespace, current)

    apps.patch_namespaced_deployment_scale("payment", cluster.namespace, {"spec": {"replicas": current + 1}})
    endpoints = wait_for_ready(appliance, cluster.namespace, current + 1)
    instances = {
        requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).headers["X-Instance"]
        for _, port in endpoints
    }
    assert instances == {name for name, _ in endpoints}

    refused = [
        lambda: apps.patch_namespaced_deployment("payment", cluster.namespace, {"spec": {"replicas": 5}}),
        lambda: client.CoreV1Api(appliance).delete_namespaced_service("payment", cluster.namespace),
        lambda: client.DiscoveryV1Api(appliance).list_namespaced_endpoint_slice("kube-system"),
    ]
    for call in refused:
        with pytest.raises(ApiException) as caught:
            call()
        assert caught.value.status == 403
    assert (
        client.AppsV1Api(admin).read_namespaced_deployment("payment", cluster.namespace).spec.replicas
        == current + 1
    )
