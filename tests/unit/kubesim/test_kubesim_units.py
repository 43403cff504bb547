"""Pure pieces of kubesim, without a server: selectors, patches, the store and its history."""

from __future__ import annotations

import pytest

from tests.kubesim import patch, selectors
from tests.kubesim.errors import ApiError
from tests.kubesim.store import Store
from tests.kubesim.tables import human_duration


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=1", {"a": "1"}, True),
        ("a==1", {"a": "2"}, False),
        ("a!=1", {}, True),  # a missing key satisfies != and notin, as upstream
        ("a notin (1,2)", {}, True),
        ("a in (1, 2),b", {"a": "2", "b": ""}, True),
        ("a in (1,2),!b", {"a": "2", "b": ""}, False),
        ("example.com/tier=web", {"example.com/tier": "web"}, True),
    ],
)
def test_label_selector_grammar(selector, labels, expected):
    assert selectors.matches(selectors.parse_label_selector(selector), labels) is expected


def test_unparseable_selector_is_a_400():
    with pytest.raises(ApiError) as caught:
        selectors.parse_label_selector("a in 1,2")
    assert caught.value.code == 400


def test_label_selector_object_round_trips_to_text():
    obj = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}],
    }
    assert selectors.to_string(selectors.from_label_selector_object(obj)) == "app=web,tier notin (db)"


def test_merge_patch_deletes_with_null_and_replaces_lists():
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    assert patch.merge_patch(target, {"a": {"b": None}, "l": [3]}) == {"a": {"c": 2}, "l": [3]}


def test_strategic_merge_patch_merges_keyed_lists_and_honours_directives():
    target = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}], "args": ["x"]}
    result = patch.strategic_merge_patch(
        target,
        {
            "containers": [{"name": "a", "image": "2"}, {"name": "b", "$patch": "delete"}, {"name": "c"}],
            "args": ["y"],
            "$setElementOrder/containers": [{"name": "a"}],
        },
    )
    assert result == {"containers": [{"name": "a", "image": "2"}, {"name": "c"}], "args": ["y"]}


def test_json_patch_operations():
    doc = {"spec": {"replicas": 1, "ports": [{"port": 80}]}}
    ops = [
        {"op": "add", "path": "/spec/ports/-", "value": {"port": 443}},
        {"op": "copy", "from": "/spec/replicas", "path": "/spec/minReplicas"},
        {"op": "move", "from": "/spec/replicas", "path": "/spec/count"},
        {"op": "remove", "path": "/spec/ports/0"},
    ]
    assert patch.json_patch(doc, ops) == {"spec": {"ports": [{"port": 443}], "minReplicas": 1, "count": 1}}


def _svc(name: str, ns: str = "default", **labels: str) -> dict:
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
    }


def test_store_rebuilds_the_past_within_its_window():
    store = Store(window=10)
    store.put("/services", _svc("a"))
    rv_after_a = store.rv
    store.put("/services", _svc("b"))
    store.put("/services", _svc("a", tier="x"))
    store.remove("/services", "default", "b")

    past = store.items_at("/services", rv_after_a)
    assert [(o["metadata"]["name"], o["metadata"]["labels"]) for o in past] == [("a", {})]
    assert [o["metadata"]["name"] for o in store.items("/services")] == ["a"]


def test_store_expires_history_beyond_its_window():
    store = Store(window=2)
    for name in "abc":
        store.put("/services", _svc(name))
    with pytest.raises(ApiError) as caught:
        store.events_after(0)
    assert caught.value.code == 410
    assert [e.obj["metadata"]["name"] for e in store.events_after(1)] == ["b", "c"]


def test_store_snapshot_survives_a_restart(tmp_path):
    path = tmp_path / "snapshot.json"
    store = Store(snapshot_path=path)
    store.put("/services", _svc("kept"))
    store.flush()

    reloaded = Store(snapshot_path=path)
    assert [o["metadata"]["name"] for o in reloaded.items("/services")] == ["kept"]
    assert reloaded.rv == store.rv
    with pytest.raises(ApiError):  # history is not persisted: older versions are compacted
        reloaded.events_after(0)


@pytest.mark.parametrize(
    ("seconds", "text"), [(5, "5s"), (150, "2m30s"), (3600, "60m"), (30000, "8h"), (90000, "25h")]
)
def test_ages_print_like_kubectl(seconds, text):
    assert human_duration(seconds) == text
