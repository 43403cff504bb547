"""The `make run` demo on the simulated cluster: the payment service as Deployment `payment` in namespace
`payments`, bound to the demo upstream `payment` next to the replicas the launcher starts itself.

kubesim runs each replica as a local process from the pod template's `kubesim.lb/*` annotations (see
tests/kubesim/README.md). The payment service's secrets are passed as `*_FILE` paths to the state
directory's secret files, so they are never copied into the simulator's stored objects.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from kubernetes import client

from appliance.launcher.config import StackConfig
from appliance.launcher.services import REPO, payment_env

NAMESPACE = "payments"
NAME = "payment"
PORT_NAME = "http"
# Environment variable → the stack secret whose file it can read instead of carrying the value.
SECRET_FILES = {
    "PAYMENT_SECRET_KEY": "payment-secret-key",
    "PAYMENT_DB_PASSWORD": "payment-db-password",
    "PAYMENT_S3_ACCESS_KEY": "s3-access-key",
    "PAYMENT_S3_SECRET_KEY": "s3-secret-key",
}


def replica_port_range(cfg: StackConfig) -> str:
    """Ports the simulated payment replicas take: 100 above the launcher's own payment replicas."""
    base = cfg.ports.payment_base + 100
    return f"{base}-{base + 99}"


def replica_env(cfg: StackConfig) -> dict[str, str]:
    env = payment_env(cfg, NAME)
    del env["PAYMENT_INSTANCE_ID"]  # per pod: set on gunicorn's command line from {instance}
    for variable, secret in SECRET_FILES.items():
        path = cfg.path("secrets", secret)
        if path.exists():
            del env[variable]
            env[f"{variable}_FILE"] = str(path)
    return env


def deployment(cfg: StackConfig, replicas: int) -> dict[str, Any]:
    service_dir = REPO / "services" / "payment"
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "payment.wsgi:application",
        "-c",
        str(service_dir / "gunicorn.conf.py"),
    ]
    argv += ["--chdir", str(service_dir), "-b", "127.0.0.1:{port}", "-w", "2", "--timeout", "30"]
    argv += ["--graceful-timeout", "5", "-e", "PAYMENT_INSTANCE_ID={instance}"]
    labels = {"app": NAME}
    annotations = {
        "kubesim.lb/command": json.dumps(argv),
        "kubesim.lb/port-range": replica_port_range(cfg),
        "kubesim.lb/readiness-path": "/readyz",
        "kubesim.lb/env": json.dumps(replica_env(cfg), sort_keys=True),
    }
    container = {
        "name": NAME,
        "image": "kubesim.invalid/payment:simulated",
        "ports": [{"containerPort": 8000}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 10},
            },
        },
    }


def service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME},
        "spec": {"selector": {"app": NAME}, "ports": [{"name": PORT_NAME, "port": 80, "targetPort": 8000}]},
    }


def _create_or_patch(create: Any, patch: Any, body: dict[str, Any]) -> None:
    try:
        create(NAMESPACE, body)
    except client.exceptions.ApiException as exc:
        if exc.status != 409:
            raise
        patch(body["metadata"]["name"], NAMESPACE, body)


def deploy(api: client.ApiClient, cfg: StackConfig, replicas: int) -> None:
    """Create (or bring up to date) namespace, Deployment and Service; the replica count is kept if set."""
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    try:
        core.create_namespace({"metadata": {"name": NAMESPACE}})
    except client.exceptions.ApiException as exc:
        if exc.status != 409:
            raise
    manifest = deployment(cfg, replicas)
    try:
        current = apps.read_namespaced_deployment_scale(NAME, NAMESPACE)
        manifest["spec"]["replicas"] = current.spec.replicas  # an autoscaled count survives a restart
    except client.exceptions.ApiException as exc:
        if exc.status != 404:
            raise
    _create_or_patch(apps.create_namespaced_deployment, apps.patch_namespaced_deployment, manifest)
    _create_or_patch(core.create_namespaced_service, core.patch_namespaced_service, service())
