"""ETags and If-Match: a write based on a stale read answers 412 and changes nothing (no lost updates)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from appliance.lb.models import Server, Upstream
from tests.api.conftest import Actor, World, bearer_client


def test_reads_and_writes_answer_with_the_object_s_etag(actors: dict[str, Actor], world: World) -> None:
    client = actors["operator"].client
    read = client.get(f"/api/v1/upstreams/{world.upstream.pk}/")
    assert (
        read["ETag"].startswith('"')
        and read["ETag"] == client.get(f"/api/v1/upstreams/{world.upstream.pk}/")["ETag"]
    )
    patched = client.patch(f"/api/v1/upstreams/{world.upstream.pk}/", {"keepalive": 8}, format="json")
    assert patched["ETag"] != read["ETag"]
    assert patched["ETag"] == client.get(f"/api/v1/upstreams/{world.upstream.pk}/")["ETag"]
    created = client.post("/api/v1/upstreams/", {"name": "fresh"}, format="json")
    assert created["ETag"] == client.get(f"/api/v1/upstreams/{created.json()['id']}/")["ETag"]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_stale_if_match_answers_412_and_changes_nothing(
    actors: dict[str, Actor], world: World, method: str
) -> None:
    client = actors["operator"].client
    url = f"/api/v1/servers/{world.server.pk}/"
    stale = client.get(url)["ETag"]
    assert client.patch(url, {"weight": 4}, format="json").status_code == 200
    body = {"upstream": world.upstream.pk, "address": "127.0.0.1", "port": 9001, "weight": 9}
    response = getattr(client, method)(
        url, body if method != "delete" else None, format="json", HTTP_IF_MATCH=stale
    )
    assert response.status_code == 412
    assert Server.objects.get(pk=world.server.pk).weight == 4


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_current_if_match_or_a_star_lets_the_write_through(
    actors: dict[str, Actor], world: World, method: str
) -> None:
    client = actors["operator"].client
    url = f"/api/v1/servers/{world.server.pk}/"
    current = client.get(url)["ETag"]
    body = {"upstream": world.upstream.pk, "address": "127.0.0.1", "port": 9001, "weight": 9}
    for if_match in (f'"nope", {current}', "*"):
        response = getattr(client, method)(
            url, body if method != "delete" else None, format="json", HTTP_IF_MATCH=if_match
        )
        assert response.status_code in (200, 204), response.content
        if method == "delete":
            assert not Server.objects.filter(pk=world.server.pk).exists()
            return
        current = response["ETag"]


def test_a_weak_etag_never_matches(actors: dict[str, Actor], world: World) -> None:
    client = actors["operator"].client
    url = f"/api/v1/upstreams/{world.upstream.pk}/"
    etag = client.get(url)["ETag"]
    response = client.patch(url, {"keepalive": 4}, format="json", HTTP_IF_MATCH=f"W/{etag}")
    assert response.status_code == 412


def test_of_two_concurrent_updates_with_the_same_etag_exactly_one_wins(
    transactional_db: None, actors, world
) -> None:
    """Both requests read the row while a third party holds it; whichever writes second must see 412."""
    url = f"/api/v1/upstreams/{world.upstream.pk}/"
    etag = actors["operator"].client.get(url)["ETag"]
    token = actors["operator"].token
    statuses: list[int] = []

    def update(keepalive: int) -> None:
        try:
            response = bearer_client(token).patch(
                url, {"keepalive": keepalive}, format="json", HTTP_IF_MATCH=etag
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=update, args=(k,)) for k in (11, 22)]
    with transaction.atomic():
        Upstream.objects.select_for_update().get(pk=world.upstream.pk)
        for thread in threads:
            thread.start()
        _wait_for_lock_waiters(2)
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 412]
    assert Upstream.objects.get(pk=world.upstream.pk).keepalive in (11, 22)


def _wait_for_lock_waiters(count: int, timeout: float = 10.0) -> None:
    """Block until `count` other sessions wait on a row lock (both requests have reached their read)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # pg_locks, not pg_stat_activity: the latter is a snapshot frozen for the whole transaction.
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"{count} requests never waited for the row lock")
