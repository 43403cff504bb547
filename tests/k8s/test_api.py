"""The Kubernetes REST API: clusters from an uploaded kubeconfig (credentials encrypted, never shown, no
programs or local files), connection status and the simulated flag, bindings, RBAC manifests, roles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from appliance.k8s.models import Cluster, ServiceBinding
from appliance.lb.models import Upstream
from tests.api.conftest import make_actor
from tests.k8s.conftest import start_kubesim
from tests.kubesim.harness import KubeSim


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    with start_kubesim(tmp_path_factory.mktemp("kubesim-api"), name="apisim") as running:
        yield running


@pytest.fixture
def admin(db):
    return make_actor("admin")


def _kubeconfig(sim: KubeSim, **user: object) -> str:
    document = yaml.safe_load(Path(sim.kubeconfig_path).read_text())
    document["users"][0]["user"].update(user)
    return yaml.safe_dump(document)


def test_a_cluster_from_a_kubeconfig_is_checked_and_shown_as_simulated_without_its_token(admin, sim):
    created = admin.client.post(
        "/api/v1/clusters/", {"name": "lab", "kubeconfig": sim.kubeconfig_path.read_text()}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert "kubeconfig" not in body and sim.token not in created.content.decode()
    assert body["server"] == sim.url and body["status"] == "unknown"
    stored = bytes(Cluster.objects.get(pk=body["id"]).credentials)
    assert sim.token.encode() not in stored and b"lb-envelope-1" in stored
    checked = admin.client.post(f"/api/v1/clusters/{body['id']}/check/")
    assert checked.status_code == 200
    assert checked.json()["status"] == "connected"
    assert checked.json()["simulated"] is True
    assert checked.json()["server_version"].endswith("-kubesim")


def test_refused_credentials_show_as_unauthorized(admin, sim):
    created = admin.client.post(
        "/api/v1/clusters/",
        {"name": "badtoken", "kubeconfig": _kubeconfig(sim, token="wrong")},
        format="json",
    )
    checked = admin.client.post(f"/api/v1/clusters/{created.json()['id']}/check/")
    assert checked.json()["status"] == "unauthorized"
    assert checked.json()["status_detail"].startswith("401")


@pytest.mark.parametrize(
    ("user", "refused"),
    [
        ({"exec": {"command": "/bin/sh", "apiVersion": "client.authentication.k8s.io/v1"}}, "exec"),
        ({"tokenFile": "/etc/shadow"}, "tokenFile"),
        ({"client-key": "/root/.ssh/id_rsa", "client-certificate": "/tmp/c"}, "client-key"),
        ({"auth-provider": {"name": "gcp"}}, "auth-provider"),
    ],
)
def test_kubeconfigs_that_run_programs_or_read_local_files_are_refused(admin, sim, user, refused):
    response = admin.client.post(
        "/api/v1/clusters/", {"name": "evil", "kubeconfig": _kubeconfig(sim, **user)}, format="json"
    )
    assert response.status_code == 400
    assert refused in response.json()["kubeconfig"][0]
    assert not Cluster.objects.filter(name="evil").exists()


def test_an_unknown_context_and_plain_http_with_a_token_are_refused_field_by_field(admin, sim):
    text = sim.kubeconfig_path.read_text()
    response = admin.client.post(
        "/api/v1/clusters/", {"name": "ctx", "kubeconfig": text, "context": "nope"}, format="json"
    )
    assert response.status_code == 400 and "context" in response.json()
    plain = text.replace("https://", "http://")
    response = admin.client.post("/api/v1/clusters/", {"name": "plain", "kubeconfig": plain}, format="json")
    assert response.status_code == 400 and "plain HTTP" in response.json()["kubeconfig"][0]


def test_a_kubeconfig_that_is_not_yaml_is_refused_without_quoting_it_back(admin, sim):
    broken = sim.kubeconfig_path.read_text() + "\n  token: s3cret-token-value: [\n"
    response = admin.client.post("/api/v1/clusters/", {"name": "broken", "kubeconfig": broken}, format="json")
    assert response.status_code == 400
    message = response.json()["kubeconfig"][0]
    assert message.startswith("not valid YAML") and "line" in message
    assert "s3cret" not in response.content.decode()


def test_only_admins_manage_clusters_and_operators_manage_bindings(db, sim):
    operator = make_actor("operator")
    denied = operator.client.post(
        "/api/v1/clusters/", {"name": "op", "kubeconfig": sim.kubeconfig_path.read_text()}, format="json"
    )
    assert denied.status_code == 403
    cluster = Cluster.objects.create(name="c1")
    upstream = Upstream.objects.create(name="app")
    fields = {"upstream": upstream.pk, "cluster": cluster.pk, "namespace": "Shop!", "service": "web"}
    invalid = operator.client.post("/api/v1/service-bindings/", fields, format="json")
    assert invalid.status_code == 400 and "namespace" in invalid.json()
    created = operator.client.post(
        "/api/v1/service-bindings/", {**fields, "namespace": "shop"}, format="json"
    )
    assert created.status_code == 201, created.json()
    moved = operator.client.patch(
        f"/api/v1/service-bindings/{created.json()['id']}/", {"service": "other"}, format="json"
    )
    assert moved.status_code == 400 and "service" in moved.json()
    assert ServiceBinding.objects.get().service == "web"


def test_rbac_manifests_grant_exactly_what_bindings_and_policies_use(admin):
    cluster = Cluster.objects.create(name="c2")
    upstream = Upstream.objects.create(name="app2")
    binding = ServiceBinding.objects.create(
        upstream=upstream, cluster=cluster, namespace="shop", service="web"
    )
    ServiceBinding.objects.create(upstream=upstream, cluster=cluster, namespace="docs", service="site")
    policy = {"binding": binding.pk, "deployment": "web", "target": 20, "min_replicas": 7, "max_replicas": 6}
    refused = admin.client.post("/api/v1/scaling-policies/", policy, format="json")
    assert refused.status_code == 400 and "min_replicas" in refused.json()
    created = admin.client.post("/api/v1/scaling-policies/", {**policy, "min_replicas": 2}, format="json")
    assert created.status_code == 201, created.json()
    items = admin.client.get(f"/api/v1/clusters/{cluster.pk}/rbac/").json()["items"]
    roles = {i["metadata"]["namespace"]: i["rules"] for i in items if i["kind"] == "Role"}
    assert roles["docs"] == [
        {
            "apiGroups": ["discovery.k8s.io"],
            "resources": ["endpointslices"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    assert {
        "apiGroups": ["apps"],
        "resources": ["deployments/scale"],
        "verbs": ["get", "patch"],
        "resourceNames": ["web"],
    } in roles["shop"]
    assert all("secrets" not in r["resources"] for rules in roles.values() for r in rules)
    assert sum(1 for i in items if i["kind"] == "RoleBinding") == 2
