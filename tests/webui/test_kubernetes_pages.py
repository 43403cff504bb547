"""Kubernetes pages: clusters (admins change them), bindings and policies (operators), decisions and
their inputs."""

from __future__ import annotations

from appliance.audit.models import AuditEvent
from appliance.k8s.models import Cluster, ScalingPolicy, ServiceBinding
from appliance.lb.models import Upstream
from tests.webui.conftest import generation


def policy_form(binding: ServiceBinding, **fields: object) -> dict[str, object]:
    form = {"binding": binding.pk, "deployment": "api", "enabled": "on", "metric": "rps_per_replica"}
    windows = {"scale_up_window_s": 0, "scale_down_window_s": 300, "interval_s": 15, "metric_window_s": 30}
    return {**form, **windows, "target": 20, "min_replicas": 1, "max_replicas": 5, "max_step": 2, **fields}


def test_every_kubernetes_list_shows_the_sample_objects(viewer, sample):
    pages = {
        "/kubernetes/clusters/": ("kind", "In-cluster service account", "Not checked yet"),
        "/kubernetes/bindings/": ("kind/shop/web", ">web</a>"),
        "/kubernetes/policies/": ("Requests/s per ready replica", "1\u201310"),
        "/kubernetes/decisions/": (
            "120 rps per replica over target 50",
            "&quot;requests&quot;: 7200",
            "Scaled",
        ),
    }
    for url, texts in pages.items():
        html = viewer.get(url).content.decode()
        for text in texts:
            assert text in html, (url, text)


def test_lists_search(viewer, sample):
    assert [b.pk for b in viewer.get("/kubernetes/bindings/", {"q": "sho"}).context["page"]] == [
        sample.binding.pk
    ]
    assert list(viewer.get("/kubernetes/bindings/", {"q": "nothing"}).context["page"]) == []
    assert list(viewer.get("/kubernetes/decisions/", {"outcome": "failed"}).context["page"]) == []
    assert len(viewer.get("/kubernetes/decisions/", {"q": "rps"}).context["page"]) == 1


def test_the_policy_page_shows_its_decisions_with_their_inputs(viewer, sample):
    html = viewer.get(f"/kubernetes/policies/{sample.policy.pk}/").content.decode()
    for text in ("120.00", "&quot;window_s&quot;: 30", "2 / 2", ">5<"):
        assert text in html, text


def test_a_cluster_is_added_by_an_admin_and_a_bad_kubeconfig_is_named(admin, operator, db):
    response = admin.post(
        "/kubernetes/clusters/add/", {"name": "prod", "source": "kubeconfig", "unreachable_grace_s": 30}
    )
    assert response.context["form"].errors == {"kubeconfig": ["required for a kubeconfig cluster"]}
    data = {
        "name": "prod",
        "source": "kubeconfig",
        "kubeconfig": "apiVersion: v1\nusers: []  # marker-5f1c\nkind: [",
        "unreachable_grace_s": 30,
    }
    response = admin.post("/kubernetes/clusters/add/", data)
    assert "kubeconfig" in response.context["form"].errors and "marker-5f1c" not in response.content.decode()
    data = {"name": "incluster", "source": "in_cluster", "unreachable_grace_s": 60}
    assert operator.post("/kubernetes/clusters/add/", data).status_code == 403
    response = admin.post("/kubernetes/clusters/add/", data)
    cluster = Cluster.objects.get(name="incluster")
    assert response["Location"] == f"/kubernetes/clusters/{cluster.pk}/" and cluster.unreachable_grace_s == 60
    assert AuditEvent.objects.filter(action="create", object_id=str(cluster.pk)).exists()
    assert "incluster" in admin.get("/kubernetes/clusters/").content.decode()


def test_a_binding_is_created_and_its_identity_cannot_change(operator, sample):
    other = Upstream.objects.create(name="other")
    data = {
        "upstream": other.pk,
        "cluster": sample.cluster.pk,
        "namespace": "Bad_NS",
        "service": "api",
        "weight": 3,
    }
    response = operator.post("/kubernetes/bindings/add/", data)
    assert list(response.context["form"].errors) == ["namespace"]
    before = generation()
    response = operator.post("/kubernetes/bindings/add/", {**data, "namespace": "shop"})
    binding = ServiceBinding.objects.get(service="api")
    assert response["Location"] == f"/kubernetes/bindings/{binding.pk}/" and generation() == before
    assert "kind/shop/api" in operator.get("/kubernetes/bindings/").content.decode()
    response = operator.post(
        f"/kubernetes/bindings/{binding.pk}/edit/", {**data, "namespace": "shop", "service": "x"}
    )
    assert response.context["form"].errors["service"] == [
        "cannot change; create another binding and delete this one"
    ]
    response = operator.post(
        f"/kubernetes/bindings/{binding.pk}/edit/", {**data, "namespace": "shop", "weight": 7}
    )
    assert response.status_code == 302 and ServiceBinding.objects.get(pk=binding.pk).weight == 7


def test_a_policy_is_checked_created_edited_and_deleted(operator, sample):
    other = ServiceBinding.objects.create(
        upstream=sample.upstream, cluster=sample.cluster, namespace="shop", service="api"
    )
    response = operator.post("/kubernetes/policies/add/", policy_form(other, min_replicas=6))
    assert response.context["form"].errors == {"min_replicas": ["must not be greater than max_replicas"]}
    assert operator.post("/kubernetes/policies/add/", policy_form(other)).status_code == 302
    policy = ScalingPolicy.objects.get(deployment="api")
    assert policy.binding == other and policy.max_step == 2
    assert "api" in [p.deployment for p in operator.get("/kubernetes/policies/").context["page"]]
    assert (
        operator.post(f"/kubernetes/policies/{policy.pk}/edit/", policy_form(other, target=40)).status_code
        == 302
    )
    assert ScalingPolicy.objects.get(pk=policy.pk).target == 40
    assert operator.post(f"/kubernetes/policies/{policy.pk}/delete/").status_code == 302
    assert not ScalingPolicy.objects.filter(pk=policy.pk).exists()


def test_a_cluster_still_bound_cannot_be_deleted(admin, sample):
    response = admin.post(f"/kubernetes/clusters/{sample.cluster.pk}/delete/")
    assert response.status_code == 409 and "kind/shop/web" in response.content.decode()
    assert Cluster.objects.filter(pk=sample.cluster.pk).exists()


def test_a_viewer_sees_no_kubernetes_buttons_and_is_refused(viewer, sample):
    for url in ("/kubernetes/clusters/", "/kubernetes/bindings/", "/kubernetes/policies/"):
        html = viewer.get(url).content.decode()
        assert "New cluster" not in html and "New binding" not in html and "New scaling policy" not in html
    html = viewer.get(f"/kubernetes/bindings/{sample.binding.pk}/").content.decode()
    assert "Edit binding" not in html and "Delete binding" not in html
    assert viewer.post("/kubernetes/policies/add/", policy_form(sample.binding)).status_code == 403
    assert viewer.post(f"/kubernetes/bindings/{sample.binding.pk}/delete/").status_code == 403
    assert ServiceBinding.objects.filter(pk=sample.binding.pk).exists()
