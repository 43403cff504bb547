"""The change pipeline never breaks running traffic: refused input, refused configs, broken objects."""

from __future__ import annotations

import socket

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.test import APIClient

from appliance.lb import services
from appliance.lb.models import ConfigRevision, DesiredState, Server, Upstream, VirtualServer
from tests.support.lb import free_port, get, node_revision, spread, wait_until

HOSTILE = [
    'a"b',
    "a'b",
    "a;b",
    "a{b",
    "a}b",
    "$host",
    "a$b",
    "a\nb",
    "a#b",
    "a\\b",
    "a b",
    "a\tb",
    "\x00",
    "a\u037eb",
    "a\uff1bb",
    "\u0430",  # Cyrillic a
    "x" * 300,
    "",
]


@pytest.fixture
def api(transactional_db: None) -> APIClient:
    user = get_user_model().objects.create_superuser("api-admin", password="x-very-long-password")
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_invalid_change_is_rejected_with_a_field_error_and_nothing_compiles(pools, api):
    before = DesiredState.objects.filter(pk=1).values_list("generation", flat=True).first()
    response = api.post("/api/v1/upstreams/", {"name": "bad;name", "algorithm": "round_robin"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    assert DesiredState.objects.filter(pk=1).values_list("generation", flat=True).first() == before
    assert not Upstream.objects.exists()


@pytest.mark.parametrize(
    "field",
    [
        "upstream.name",
        "upstream.hash_key_name",
        "server.address",
        "virtual_server.name",
        "virtual_server.hostnames",
        "route.path_prefix",
    ],
)
def test_hostile_text_in_every_field_is_refused_and_the_config_does_not_change(pools, api, field):
    backend = pools.backend("inj")
    pools.pool("inj", [backend])
    upstream = Upstream.objects.get(name="inj")
    vs = VirtualServer.objects.get()
    revisions = ConfigRevision.objects.count()
    live_files = ConfigRevision.objects.first().files
    kind, attr = field.split(".")
    for value in HOSTILE:
        if kind == "upstream":
            body = {
                "name": "ok",
                "algorithm": "hash",
                "hash_key": "header",
                "hash_key_name": "X-A",
                attr: value,
            }
            response = api.post("/api/v1/upstreams/", body, format="json")
        elif kind == "server":
            response = api.post(
                "/api/v1/servers/", {"upstream": upstream.pk, "address": value, "port": 80}, format="json"
            )
        elif kind == "virtual_server":
            body = {"name": "ok", "hostnames": ["ok.test"], "http_ports": [free_port()], attr: value}
            if attr == "hostnames":
                body[attr] = [value]
            response = api.post("/api/v1/virtual-servers/", body, format="json")
        else:
            response = api.post(
                "/api/v1/routes/",
                {"virtual_server": vs.pk, "path_prefix": value, "upstream": upstream.pk},
                format="json",
            )
        assert response.status_code == 400, (value, response.content)
        assert attr in response.json(), (value, response.json())
    assert ConfigRevision.objects.count() == revisions
    assert ConfigRevision.objects.first().files == live_files


def test_a_config_nginx_refuses_leaves_the_previous_revision_serving(pools):
    backend = pools.backend("keep")
    url = pools.pool("keep", [backend])
    live = ConfigRevision.objects.first()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    try:
        port = blocker.getsockname()[1]
        VirtualServer.objects.create(name="clash", http_ports=[port], default_upstream=Upstream.objects.get())
        services.mark_changed("port clash", "tests")
        failed = pools.wait()
        assert failed.number > live.number and failed.status == "failed"
        assert "Address already in use" in failed.error
        assert all(node_revision(u) == live.number for u in pools.status_urls)
        assert spread(url, 50) == {"keep": 50}
    finally:
        blocker.close()


def test_an_unresolvable_server_is_quarantined_and_everything_else_applies(pools):
    good, added = pools.backend("good"), pools.backend("added")
    url = pools.pool("mixed", [good])
    upstream = Upstream.objects.get(name="mixed")
    with transaction.atomic():
        Server.objects.create(upstream=upstream, address="no-such-host.invalid", port=80)
        Server.objects.create(upstream=upstream, address="127.0.0.1", port=added.port)
        services.mark_changed("add a broken and a good server", "tests")
    revision = pools.wait()
    assert revision.status == "applied"
    broken = Server.objects.get(address="no-such-host.invalid")
    assert "does not resolve" in broken.quarantine_reason
    assert [q["name"] for q in revision.quarantined] == ["mixed/no-such-host.invalid:80"]
    seen = spread(url, 40)
    assert set(seen) == {"good", "added"} and sum(seen.values()) == 40


def test_an_unchanged_desired_state_creates_no_revision_and_no_reload(pools):
    backend = pools.backend("same")
    pools.pool("same", [backend])
    count = ConfigRevision.objects.count()
    services.mark_changed("nothing really changed", "tests")
    pools.wait()
    assert ConfigRevision.objects.count() == count


def test_a_burst_of_changes_coalesces_into_few_revisions(pools):
    backend = pools.backend("burst")
    pools.pool("burst", [backend])
    upstream = Upstream.objects.get(name="burst")
    before = ConfigRevision.objects.count()
    for weight in range(2, 22):
        Server.objects.filter(upstream=upstream).update(weight=weight)
        services.mark_changed(f"weight {weight}", "tests")
    latest = pools.wait()
    assert ConfigRevision.objects.count() - before < 20
    assert "weight=21" in latest.files["upstreams/burst.conf"]


def test_two_nodes_converge_on_the_same_revision(pools, dataplane):
    if len(dataplane.nodes) < 2:
        dataplane.start_node("node2", "127.0.0.2", free_port("127.0.0.2"))
    backend = pools.backend("both")
    url = pools.pool("both", [backend])
    latest = ConfigRevision.objects.first()
    assert latest.status == "applied"
    assert {node_revision(u) for u in pools.status_urls} == {latest.number}
    assert {s.node.name for s in latest.node_statuses.all()} == {"node1", "node2"}
    port = url.rsplit(":", 1)[1]
    assert get(f"http://127.0.0.2:{port}/")[1] == "both"
    assert wait_until(lambda: get(url)[0] == 200, 5, "node1 serving")
