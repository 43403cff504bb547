"""Watch semantics: event types, resuming from a resourceVersion, bookmarks, 410 Gone."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from kubernetes import client, watch

from tests.kubesim import manifests
from tests.kubesim.harness import KubeSim


def _events(core, namespace, **kwargs) -> list[tuple[str, str]]:
    stream = watch.Watch().stream(core.list_namespaced_service, namespace, **kwargs)
    return [(e["type"], e["raw_object"]["metadata"].get("name", "")) for e in stream]


def test_live_watch_sees_added_modified_deleted(core, namespace):
    start_rv = core.list_namespaced_service(namespace).metadata.resource_version

    def make_changes():
        time.sleep(0.3)
        core.create_namespaced_service(namespace, manifests.service("web", {"app": "web"}))
        core.patch_namespaced_service("web", namespace, {"metadata": {"labels": {"changed": "yes"}}})
        core.delete_namespaced_service("web", namespace)

    writer = threading.Thread(target=make_changes)
    writer.start()
    seen = []
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_service, namespace, resource_version=start_rv, timeout_seconds=5
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if event["type"] == "DELETED":
            w.stop()
    writer.join()
    assert seen == [("ADDED", "web"), ("MODIFIED", "web"), ("DELETED", "web")]


def test_watch_resumes_after_a_resource_version(core, namespace):
    core.create_namespaced_service(namespace, manifests.service("before", {"app": "x"}))
    resume_from = core.list_namespaced_service(namespace).metadata.resource_version
    core.create_namespaced_service(namespace, manifests.service("after", {"app": "x"}))
    core.delete_namespaced_service("before", namespace)

    events = _events(core, namespace, resource_version=resume_from, timeout_seconds=1)
    assert events == [("ADDED", "after"), ("DELETED", "before")]


def test_watch_without_resource_version_starts_with_current_state(core, namespace):
    core.create_namespaced_service(namespace, manifests.service("existing", {"app": "x"}))
    assert _events(core, namespace, timeout_seconds=1) == [("ADDED", "existing")]


def test_bookmarks_carry_the_latest_resource_version(core, namespace):
    core.create_namespaced_service(namespace, manifests.service("web", {"app": "x"}))
    rv = core.list_namespaced_service(namespace).metadata.resource_version
    w = watch.Watch()
    bookmarks = [
        e["raw_object"]
        for e in w.stream(
            core.list_namespaced_service,
            namespace,
            resource_version=rv,
            allow_watch_bookmarks=True,
            timeout_seconds=3,
        )
        if e["type"] == "BOOKMARK"
    ]
    assert bookmarks, "expected at least one BOOKMARK within 3 s (interval is 1 s)"
    assert bookmarks[-1]["kind"] == "Service"
    assert int(bookmarks[-1]["metadata"]["resourceVersion"]) >= int(rv)
    assert w.resource_version == bookmarks[-1]["metadata"]["resourceVersion"]


def test_label_selector_watch_turns_relabelling_into_added_and_deleted(core, namespace):
    body = manifests.service("web", {"app": "x"})
    body["metadata"]["labels"] = {"tier": "front"}
    core.create_namespaced_service(namespace, body)
    rv = core.list_namespaced_service(namespace).metadata.resource_version
    core.patch_namespaced_service("web", namespace, {"metadata": {"labels": {"tier": "back"}}})
    core.patch_namespaced_service("web", namespace, {"metadata": {"labels": {"tier": "front"}}})

    events = _events(core, namespace, resource_version=rv, label_selector="tier=front", timeout_seconds=1)
    assert events == [("DELETED", "web"), ("ADDED", "web")]


def test_send_initial_events_ends_with_a_marked_bookmark(sim, http, core, namespace):
    core.create_namespaced_service(namespace, manifests.service("web", {"app": "x"}))
    query = (
        "watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
        "&resourceVersionMatch=NotOlderThan&timeoutSeconds=1"
    )
    response = http("GET", f"/api/v1/namespaces/{namespace}/services?{query}", stream=True)
    events = [json.loads(line) for line in response.iter_lines() if line]
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


@pytest.fixture(scope="module")
def small_window(tmp_path_factory):
    """A simulator that keeps only 5 events, so history expires quickly."""
    with KubeSim.start(tmp_path_factory.mktemp("kubesim-window"), extra_args=("--event-window", "5")) as sim:
        api = sim.api_client()
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": "churn"}})
        old_rv = core.list_namespaced_service("churn").metadata.resource_version
        for i in range(8):
            core.create_namespaced_service("churn", manifests.service(f"s{i}", {"app": "x"}))
        yield sim, core, old_rv


def test_watch_from_an_expired_resource_version_is_410(small_window):
    _, core, old_rv = small_window
    with pytest.raises(client.ApiException) as caught:
        _events(core, "churn", resource_version=old_rv, timeout_seconds=1)
    assert caught.value.status == 410


def test_expired_watch_is_an_error_event_on_the_wire(small_window):
    sim, _, old_rv = small_window
    response = requests.get(
        f"{sim.url}/api/v1/namespaces/churn/services?watch=true&resourceVersion={old_rv}",
        headers={"Authorization": f"Bearer {sim.token}"},
        verify=sim.ca_file,
        timeout=5,
    )
    event = json.loads(response.text.splitlines()[0])
    assert response.status_code == 200  # watch errors arrive as events, as from the real server
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


def test_exact_list_at_an_expired_resource_version_is_410(small_window):
    _, core, old_rv = small_window
    with pytest.raises(client.ApiException) as caught:
        core.list_namespaced_service("churn", resource_version=old_rv, resource_version_match="Exact")
    assert caught.value.status == 410


def test_exact_list_at_a_retained_resource_version_shows_the_past(small_window):
    _, core, _ = small_window
    now = core.list_namespaced_service("churn")
    core.create_namespaced_service("churn", manifests.service("later", {"app": "x"}))
    past = core.list_namespaced_service(
        "churn", resource_version=now.metadata.resource_version, resource_version_match="Exact"
    )
    assert [s.metadata.name for s in past.items] == [s.metadata.name for s in now.items]
