"""The official client against kubesim: CRUD, metadata, selectors, errors, HPAs, pagination."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.kubesim import manifests


def test_created_objects_carry_full_metadata(core, apps, namespace):
    svc = core.create_namespaced_service(namespace, manifests.service("web", {"app": "web"}))
    dep = apps.create_namespaced_deployment(namespace, manifests.deployment("web", replicas=2))

    for obj, kind, api_version in ((svc, "Service", "v1"), (dep, "Deployment", "apps/v1")):
        assert obj.kind == kind and obj.api_version == api_version
        assert obj.metadata.uid and obj.metadata.creation_timestamp
        assert obj.metadata.generation == 1
        assert int(obj.metadata.resource_version) > 0
    assert svc.spec.cluster_ip.startswith("10.96.")
    assert svc.spec.ports[0].target_port == 80  # defaulted from port, as upstream
    assert dep.spec.strategy.type == "RollingUpdate"


def test_resource_versions_increase_globally(core, namespace):
    a = core.create_namespaced_service(namespace, manifests.service("a", {"app": "a"}))
    b = core.create_namespaced_service(namespace, manifests.service("b", {"app": "b"}))
    listing = core.list_namespaced_service(namespace)
    assert int(a.metadata.resource_version) < int(b.metadata.resource_version)
    assert int(listing.metadata.resource_version) >= int(b.metadata.resource_version)
    assert listing.kind == "ServiceList" and listing.api_version == "v1"


def test_namespaces_are_marked_as_simulated(core, namespace):
    ns = core.read_namespace(namespace)
    assert ns.metadata.annotations["kubesim.lb/simulated"] == "true"
    assert ns.status.phase == "Active"


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=web", {"web-1", "web-2"}),
        ("tier==web,track=canary", {"web-2"}),
        ("tier!=web", {"db", "plain"}),
        ("tier in (web,db)", {"web-1", "web-2", "db"}),
        ("tier notin (web)", {"db", "plain"}),
        ("track", {"web-2"}),
        ("!track", {"web-1", "db", "plain"}),
    ],
)
def test_list_filters_by_label_selector(core, namespace, selector, expected):
    labels = {
        "web-1": {"tier": "web"},
        "web-2": {"tier": "web", "track": "canary"},
        "db": {"tier": "db"},
        "plain": {},
    }
    for name, extra in labels.items():
        body = manifests.service(name, {"app": name})
        body["metadata"]["labels"] = extra
        core.create_namespaced_service(namespace, body)

    found = core.list_namespaced_service(namespace, label_selector=selector)
    assert {s.metadata.name for s in found.items} == expected


def test_field_selector_on_name(core, namespace):
    for name in ("one", "two"):
        core.create_namespaced_service(namespace, manifests.service(name, {"app": name}))
    found = core.list_namespaced_service(namespace, field_selector="metadata.name=two")
    assert [s.metadata.name for s in found.items] == ["two"]


def test_missing_object_is_a_404_status(core, namespace):
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_service("absent", namespace)
    status = json.loads(caught.value.body)
    assert caught.value.status == 404
    assert status["kind"] == "Status" and status["reason"] == "NotFound"
    assert status["details"] == {"name": "absent", "group": "", "kind": "services"}


def test_creating_twice_is_a_409_already_exists(core, namespace):
    core.create_namespaced_service(namespace, manifests.service("dup", {"app": "dup"}))
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_service(namespace, manifests.service("dup", {"app": "dup"}))
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["reason"] == "AlreadyExists"


def test_update_with_stale_resource_version_is_a_409_conflict(apps, namespace):
    created = apps.create_namespaced_deployment(namespace, manifests.deployment("web"))
    fresh = apps.read_namespaced_deployment("web", namespace)
    fresh.spec.replicas = 3
    apps.replace_namespaced_deployment("web", namespace, fresh)

    stale = created
    stale.spec.replicas = 5
    with pytest.raises(client.ApiException) as caught:
        apps.replace_namespaced_deployment("web", namespace, stale)
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["reason"] == "Conflict"
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 3


def test_spec_change_bumps_generation_but_metadata_change_does_not(apps, namespace):
    apps.create_namespaced_deployment(namespace, manifests.deployment("web"))
    labelled = apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"extra": "yes"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 4}})
    assert scaled.metadata.generation == 2


def test_namespaced_create_in_missing_namespace_is_a_404(core):
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_service("no-such-namespace", manifests.service("x", {"app": "x"}))
    assert caught.value.status == 404


def test_invalid_objects_are_rejected_with_422_and_causes(http, namespace):
    # The official client type-checks bodies itself, so a wrongly typed one is sent raw.
    body = manifests.deployment("web")
    body["spec"]["replicas"] = "many"
    body["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": "http"}]
    response = http("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", body)
    status = response.json()
    assert response.status_code == 422
    assert status["kind"] == "Status" and status["reason"] == "Invalid"
    fields = {c["field"] for c in status["details"]["causes"]}
    assert fields == {"spec.replicas", "spec.template.spec.containers[0].ports[0].containerPort"}


def test_selector_must_match_template_labels(apps, namespace):
    body = manifests.deployment("web")
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(client.ApiException) as caught:
        apps.create_namespaced_deployment(namespace, body)
    causes = json.loads(caught.value.body)["details"]["causes"]
    assert [c["field"] for c in causes] == ["spec.template.metadata.labels"]


def test_unknown_fields_are_invalid(http, namespace):
    body = manifests.service("typo", {"app": "x"})
    body["spec"]["prots"] = []
    response = http("POST", f"/api/v1/namespaces/{namespace}/services", body)
    assert response.status_code == 422
    assert "prots" in response.json()["message"]


def test_status_is_not_writable_through_the_main_resource(apps, namespace):
    apps.create_namespaced_deployment(namespace, manifests.deployment("web", replicas=0))
    patched = apps.patch_namespaced_deployment("web", namespace, {"status": {"readyReplicas": 99}})
    assert (patched.status.ready_replicas or 0) != 99


def test_delete_returns_status_and_removes_the_object(core, apps, namespace):
    apps.create_namespaced_deployment(namespace, manifests.deployment("web"))
    answer = apps.delete_namespaced_deployment("web", namespace)
    # Client 37 returns the Status as a dict, client 36 as a V1Status model.
    assert (answer["status"] if isinstance(answer, dict) else answer.status) == "Success"
    with pytest.raises(client.ApiException) as caught:
        apps.read_namespaced_deployment("web", namespace)
    assert caught.value.status == 404


def test_deleting_a_namespace_deletes_its_objects(core, apps):
    core.create_namespace({"metadata": {"name": "doomed-ns"}})
    apps.create_namespaced_deployment("doomed-ns", manifests.deployment("web"))
    core.delete_namespace("doomed-ns")
    assert apps.list_namespaced_deployment("doomed-ns").items == []
    with pytest.raises(client.ApiException):
        core.read_namespace("doomed-ns")


def test_hpa_can_be_created_read_and_listed(api_client, apps, namespace):
    autoscaling = client.AutoscalingV2Api(api_client)
    apps.create_namespaced_deployment(namespace, manifests.deployment("web"))
    autoscaling.create_namespaced_horizontal_pod_autoscaler(
        namespace, manifests.hpa("web", "web", max_replicas=7)
    )

    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("web", namespace)
    assert hpa.spec.scale_target_ref.name == "web"
    assert hpa.spec.max_replicas == 7 and hpa.spec.min_replicas == 1
    assert hpa.spec.metrics[0].resource.name == "cpu"  # the autoscaling/v2 default
    listed = autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace)
    assert [h.metadata.name for h in listed.items] == ["web"]


def test_hpa_with_min_above_max_is_invalid(api_client, namespace):
    body = manifests.hpa("web", "web", max_replicas=2)
    body["spec"]["minReplicas"] = 3
    with pytest.raises(client.ApiException) as caught:
        client.AutoscalingV2Api(api_client).create_namespaced_horizontal_pod_autoscaler(namespace, body)
    assert caught.value.status == 422


def test_list_pagination_is_consistent(core, namespace):
    for i in range(5):
        core.create_namespaced_service(namespace, manifests.service(f"svc-{i}", {"app": "x"}))
    first = core.list_namespaced_service(namespace, limit=2)
    assert len(first.items) == 2 and first.metadata._continue
    core.create_namespaced_service(namespace, manifests.service("svc-9", {"app": "x"}))  # after the snapshot
    names = [s.metadata.name for s in first.items]
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_service(namespace, limit=2, _continue=token)
        names += [s.metadata.name for s in page.items]
        token = page.metadata._continue
    assert names == [f"svc-{i}" for i in range(5)]


def test_dry_run_create_stores_nothing(core, namespace):
    core.create_namespaced_service(namespace, manifests.service("dry", {"app": "x"}), dry_run="All")
    assert core.list_namespaced_service(namespace).items == []


def test_delete_with_a_stale_precondition_is_a_409(core, namespace):
    created = core.create_namespaced_service(namespace, manifests.service("web", {"app": "web"}))
    core.patch_namespaced_service("web", namespace, {"metadata": {"labels": {"v": "2"}}})
    options = client.V1DeleteOptions(
        preconditions=client.V1Preconditions(resource_version=created.metadata.resource_version)
    )
    with pytest.raises(client.ApiException) as caught:
        core.delete_namespaced_service("web", namespace, body=options)
    assert caught.value.status == 409
    assert core.read_namespaced_service("web", namespace)


def test_delete_collection_honours_the_label_selector(apps, namespace):
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        body = manifests.deployment(name, replicas=0)
        body["metadata"]["labels"]["tier"] = tier
        apps.create_namespaced_deployment(namespace, body)
    apps.delete_collection_namespaced_deployment(namespace, label_selector="tier=web")
    assert [d.metadata.name for d in apps.list_namespaced_deployment(namespace).items] == ["c"]


def test_status_subresource_writes_only_status(apps, namespace):
    apps.create_namespaced_deployment(namespace, manifests.deployment("web", replicas=0))
    patched = apps.patch_namespaced_deployment_status(
        "web", namespace, {"spec": {"replicas": 9}, "status": {"collisionCount": 1}}
    )
    assert patched.status.collision_count == 1
    assert patched.spec.replicas == 0
