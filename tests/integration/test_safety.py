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


def _route(**fields: object):  # type: ignore[no-untyped-def]
    """A route body builder: the hostile value goes where `fields` say (a callable of the value)."""

    def build(value: str, upstream: int, vs: int) -> tuple[str, dict]:
        body = {"virtual_server": vs, "path_prefix": "/x", "upstream": upstream}
        body.update({k: (f(value) if callable(f) else f) for k, f in fields.items()})
        if body.get("canary_upstream") is True:
            body["canary_upstream"] = upstream
        return "/api/v1/routes/", body

    return build


def _policy(url: str, **fields: object):  # type: ignore[no-untyped-def]
    def build(value: str, upstream: int, vs: int) -> tuple[str, dict]:
        body: dict = {"upstream": upstream} if "sticky" in url else {"name": "ok", "rate": 5}
        body.update({k: (f(value) if callable(f) else f) for k, f in fields.items()})
        return url, body

    return build


def _it(value: str) -> str:
    return value


# Gateway fields (issue #5): field → body builder; "field:variant" when one field is tried in two ways.
GATEWAY_FIELDS = {
    "route.path_prefix:regex": _route(path_kind="regex", path_prefix=_it),
    "route.host": _route(host=_it),
    "route.header_name": _route(header_name=_it, header_match="equals", header_value="v"),
    "route.header_value": _route(header_name="X-A", header_match="equals", header_value=_it),
    "route.header_value:regex": _route(header_name="X-A", header_match="regex", header_value=_it),
    "route.cookie_name": _route(cookie_name=_it, cookie_match="present"),
    "route.cookie_value": _route(cookie_name="c", cookie_match="equals", cookie_value=_it),
    "route.query_name": _route(query_name=_it, query_match="present"),
    "route.query_value": _route(query_name="q", query_match="equals", query_value=_it),
    "route.rewrite_prefix": _route(rewrite_prefix=_it),
    "route.request_headers:name": _route(request_headers=lambda x: {x: "v"}),
    "route.request_headers:value": _route(request_headers=lambda x: {"X-A": x}),
    "route.request_headers_remove": _route(request_headers_remove=lambda x: [x]),
    "route.response_headers:name": _route(response_headers=lambda x: {x: "v"}),
    "route.response_headers:value": _route(response_headers=lambda x: {"X-A": x}),
    "route.response_headers_remove": _route(response_headers_remove=lambda x: [x]),
    "route.canary_header": _route(canary_upstream=True, canary_header=_it, canary_header_value="v"),
    "route.canary_header_value": _route(canary_upstream=True, canary_header="X-C", canary_header_value=_it),
    "route.canary_cookie": _route(canary_upstream=True, canary_cookie=_it, canary_cookie_value="v"),
    "route.canary_cookie_value": _route(canary_upstream=True, canary_cookie="c", canary_cookie_value=_it),
    "route.redirect_url": _route(action="redirect", upstream=None, redirect_url=_it),
    "route.respond_body": _route(action="respond", upstream=None, respond_body=_it),
    "sticky_policy.cookie_name": _policy("/api/v1/sticky-policies/", kind="cookie", cookie_name=_it),
    "sticky_policy.cookie_path": _policy("/api/v1/sticky-policies/", kind="cookie", cookie_path=_it),
    "sticky_policy.header_name": _policy("/api/v1/sticky-policies/", kind="header", header_name=_it),
    "rate_limit.name": _policy("/api/v1/rate-limits/", name=_it),
    "rate_limit.key_header": _policy("/api/v1/rate-limits/", key="header", key_header=_it),
    "rate_limit.exempt": _policy("/api/v1/rate-limits/", exempt=lambda x: [x]),
}
# Values that are legitimate in that field (a space inside a header value or a body; empty = no condition).
GATEWAY_BENIGN = {
    "route.host": {""},
    "route.rewrite_prefix": {""},
    "route.header_value": {"a b"},
    "route.header_value:regex": {"a\\b"},
    "route.path_prefix:regex": {"a\\b"},
    "route.request_headers:value": {"a b"},
    "route.response_headers:value": {"a b"},
    "route.respond_body": {"a b", "x" * 300, ""},
}


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
        *GATEWAY_FIELDS,
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
        if value in GATEWAY_BENIGN.get(field, ()):
            continue
        if field in GATEWAY_FIELDS:
            url, body = GATEWAY_FIELDS[field](value, upstream.pk, vs.pk)
            response = api.post(url, body, format="json")
            attr = attr.split(":")[0]
        elif kind == "upstream":
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
        assert failed.culprits == [{"kind": "virtual_server", "name": "clash"}]
        assert all(node_revision(u) == live.number for u in pools.status_urls)
        # The rollback is itself a reload: a keep-alive connection the draining workers close may fail
        # once while it finishes. After that, every request is served by the previous revision.
        wait_until(lambda: spread(url, 50) == {"keep": 50}, 10, "the previous revision serving every request")
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
