"""Change sets: all operations or none, one revision for all of them; preview compiles without keeping."""

from __future__ import annotations

import pytest
from django.conf import settings

from appliance.lb.models import ConfigRevision, DesiredState, Route, Server, Upstream, VirtualServer
from tests.api.conftest import Actor, World, settled
from tests.support.lb import free_port


def generation() -> int:
    return DesiredState.objects.filter(pk=1).values_list("generation", flat=True).first() or 0


def pool_operations(name: str, port: int, backend_port: int = 9001) -> list[dict]:
    return [
        {"op": "create", "resource": "upstreams", "data": {"name": name, "algorithm": "least_conn"}},
        {
            "op": "create",
            "resource": "servers",
            "data": {"upstream": "$0", "address": "127.0.0.1", "port": backend_port},
        },
        {"op": "create", "resource": "virtual-servers", "data": {"name": f"vs-{name}", "http_ports": [port]}},
        {
            "op": "create",
            "resource": "routes",
            "data": {"virtual_server": "$2", "path_prefix": "/app", "upstream": "$0"},
        },
    ]


def test_a_change_set_creates_objects_that_refer_to_each_other(actors: dict[str, Actor]) -> None:
    before = generation()
    response = actors["operator"].client.post(
        "/api/v1/change-sets/", {"operations": pool_operations("shop", 18090)}, format="json"
    )
    assert response.status_code == 201, response.content
    results = response.json()["results"]
    upstream = Upstream.objects.get(name="shop")
    assert results[0]["id"] == upstream.pk
    assert Server.objects.get(pk=results[1]["id"]).upstream == upstream
    route = Route.objects.get(pk=results[3]["id"])
    assert (route.upstream, route.virtual_server.name) == (upstream, "vs-shop")
    assert generation() == before + 1
    assert response["X-Config-Generation"] == str(before + 1)


def test_one_invalid_operation_writes_nothing_and_names_every_error(actors: dict[str, Actor]) -> None:
    before = (generation(), Upstream.objects.count(), VirtualServer.objects.count())
    operations = pool_operations("shop", 18090)
    operations[1]["data"]["port"] = 70000
    operations[2]["data"]["name"] = "bad;name"
    response = actors["operator"].client.post(
        "/api/v1/change-sets/", {"operations": operations}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) >= {"operations[1].port", "operations[2].name"}
    assert "operations[3].virtual_server" in errors  # it referred to the create that failed
    assert (generation(), Upstream.objects.count(), VirtualServer.objects.count()) == before


def test_envelope_errors_have_paths_too(actors: dict[str, Actor]) -> None:
    operations = [
        {"op": "rename", "resource": "upstreams"},
        {"op": "update", "resource": "upstreams", "data": {}},
        {
            "op": "create",
            "resource": "servers",
            "data": {"upstream": "$5", "address": "10.0.0.1", "port": 80},
        },
    ]
    response = actors["operator"].client.post(
        "/api/v1/change-sets/", {"operations": operations}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"operations[0].op", "operations[1].id"}
    empty = actors["operator"].client.post("/api/v1/change-sets/", {"operations": []}, format="json")
    assert empty.status_code == 400 and "operations" in empty.json()


def test_updates_and_deletes_in_a_set_with_a_reference_of_the_wrong_kind(
    actors: dict[str, Actor], world: World
) -> None:
    operations = [
        {"op": "create", "resource": "virtual-servers", "data": {"name": "other", "http_ports": [18099]}},
        {
            "op": "create",
            "resource": "servers",
            "data": {"upstream": "$0", "address": "10.0.0.1", "port": 80},
        },
    ]
    response = actors["operator"].client.post(
        "/api/v1/change-sets/", {"operations": operations}, format="json"
    )
    assert response.status_code == 400
    assert "does not name a upstream" in response.json()["operations[1].upstream"][0]
    operations = [
        {"op": "update", "resource": "servers", "id": world.server.pk, "data": {"weight": 7}},
        {"op": "delete", "resource": "routes", "id": world.route.pk},
        {"op": "delete", "resource": "upstreams", "id": world.spare_upstream.pk},
    ]
    response = actors["operator"].client.post(
        "/api/v1/change-sets/", {"operations": operations}, format="json"
    )
    assert response.status_code == 201
    assert Server.objects.get(pk=world.server.pk).weight == 7
    assert not Route.objects.filter(pk=world.route.pk).exists()
    assert not Upstream.objects.filter(pk=world.spare_upstream.pk).exists()


def test_deleting_an_upstream_still_in_use_fails_the_set(actors: dict[str, Actor], world: World) -> None:
    operations = [
        {"op": "update", "resource": "servers", "id": world.server.pk, "data": {"weight": 9}},
        {"op": "delete", "resource": "upstreams", "id": world.upstream.pk},
    ]
    response = actors["operator"].client.post(
        "/api/v1/change-sets/", {"operations": operations}, format="json"
    )
    assert response.status_code == 400
    assert "still used by" in response.json()["operations[1].id"][0]
    assert Server.objects.get(pk=world.server.pk).weight == 1


def test_a_stale_if_match_fails_the_whole_set_with_412(actors: dict[str, Actor], world: World) -> None:
    client = actors["operator"].client
    etag = client.get(f"/api/v1/servers/{world.server.pk}/")["ETag"]
    assert (
        client.patch(f"/api/v1/servers/{world.server.pk}/", {"weight": 2}, format="json").status_code == 200
    )
    operations = [
        {"op": "create", "resource": "upstreams", "data": {"name": "extra"}},
        {
            "op": "update",
            "resource": "servers",
            "id": world.server.pk,
            "if_match": etag,
            "data": {"weight": 5},
        },
    ]
    response = client.post("/api/v1/change-sets/", {"operations": operations}, format="json")
    assert response.status_code == 412
    assert "operations[1].if_match" in response.json()
    assert not Upstream.objects.filter(name="extra").exists()
    assert Server.objects.get(pk=world.server.pk).weight == 2


def test_preview_shows_the_diff_and_nginx_accepts_it_but_nothing_changes(actors: dict[str, Actor]) -> None:
    before = (generation(), Upstream.objects.count(), ConfigRevision.objects.count())
    response = actors["operator"].client.post(
        "/api/v1/preview/", {"operations": pool_operations("preview", 18091)}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["valid"] is True and body["nginx_test"]["ok"] is True and body["changed"] is True
    assert "+++ b/upstreams/preview.conf" in body["diff"]
    assert "server 127.0.0.1:9001" in body["diff"]
    assert (generation(), Upstream.objects.count(), ConfigRevision.objects.count()) == before


def test_preview_reports_a_config_this_node_would_refuse(actors: dict[str, Actor]) -> None:
    status_port = int(settings.LB_NODE["status_port"])
    response = actors["operator"].client.post(
        "/api/v1/preview/", {"operations": pool_operations("clash", status_port)}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False and body["nginx_test"]["ok"] is False
    assert str(status_port) in body["nginx_test"]["output"]
    assert not Upstream.objects.filter(name="clash").exists()


def test_preview_of_invalid_operations_is_a_400_like_the_change_set(actors: dict[str, Actor]) -> None:
    operations = pool_operations("bad", 18092)
    operations[1]["data"]["address"] = "$host"
    response = actors["operator"].client.post("/api/v1/preview/", {"operations": operations}, format="json")
    assert response.status_code == 400 and "operations[1].address" in response.json()


@pytest.mark.usefixtures("transactional_db")
def test_a_change_set_becomes_exactly_one_revision_compiled_by_the_workers(dataplane, actors) -> None:
    status_urls = [node.status_url for node in dataplane.nodes]
    settled(status_urls)
    before = ConfigRevision.objects.count()
    response = actors["operator"].client.post(
        "/api/v1/change-sets/", {"operations": pool_operations("one-rev", free_port())}, format="json"
    )
    assert response.status_code == 201
    revision = settled(status_urls)
    assert ConfigRevision.objects.count() == before + 1
    assert revision.status == "applied"
    assert {"upstreams/one-rev.conf", "sites/vs-one-rev.conf"} <= set(revision.files)
    assert revision.cause.count("change set") == 1
