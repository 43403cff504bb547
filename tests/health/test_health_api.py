"""The health API: settings validated field by field, state and history readable and filterable."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from appliance.health.api.serializers import HealthCheckSerializer
from appliance.lb.models import Upstream
from tests.health.conftest import check_on, server_of, wait_status

HOSTILE = [
    ("expected_statuses", "200 - 399"),
    ("expected_statuses", "99"),
    ("expected_statuses", "399-200"),
    ("expected_statuses", "200,,204"),
    ("path", "health"),
    ("path", "/a/../b"),
    ("path", "/x;rm"),
    ("path", "/h?q=$host"),
    ("headers", {"X-A": "ok\r\nInjected: 1"}),
    ("headers", {"Bad Name": "v"}),
    ("headers", {"Content-Length": "0"}),
    ("timeout_ms", 5000),  # not shorter than the 2 s default interval
    ("rise", 0),
]


@pytest.fixture
def upstream(db) -> Upstream:  # type: ignore[no-untyped-def]
    return Upstream.objects.create(name="apiup")


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_it_refuses_each_bad_value_on_its_own_field(upstream, field, value):
    serializer = HealthCheckSerializer(data={"upstream": upstream.pk, field: value})
    assert not serializer.is_valid()
    assert field in serializer.errors, serializer.errors


def test_it_compiles_body_regexes_when_saved_and_refuses_backtracking_ones(upstream):
    data = {"upstream": upstream.pk, "body_match": "regex"}
    refused = HealthCheckSerializer(data={**data, "body_pattern": r"(a)\1"})
    assert not refused.is_valid() and "body_pattern" in refused.errors
    head = HealthCheckSerializer(data={**data, "body_pattern": "ok", "method": "HEAD"})
    assert not head.is_valid() and "body_match" in head.errors
    accepted = HealthCheckSerializer(
        data={**data, "body_pattern": r'"status"\s*:\s*"(ok|up)"', "expected_statuses": "200,204-206"}
    )
    assert accepted.is_valid(), accepted.errors


def test_state_history_and_alerts_are_listed_with_filters(pools, client):
    good, bad = pools.backend("api-good"), pools.backend("api-bad", health_status=500)
    pools.pool("hapi", [good, bad])
    check_on("hapi", path="/__health")
    wait_status(bad, "unhealthy", 10)
    wait_status(good, "healthy", 10)
    user = get_user_model().objects.create_superuser("health-admin", password="x" * 16)
    client.force_login(user)
    upstream = Upstream.objects.get(name="hapi").pk

    states = client.get(f"/api/v1/health-states/?upstream={upstream}&status=unhealthy").json()
    assert states["count"] == 1
    row = states["results"][0]
    assert (row["server"], row["in_rotation"], row["last_result"]) == (
        server_of(bad).pk,
        False,
        "http_status",
    )
    assert row["last_status_code"] == 500 and row["consecutive_failures"] >= 2
    healthy = client.get(f"/api/v1/health-states/?upstream={upstream}&status=healthy").json()["results"]
    assert [(r["server"], r["in_rotation"]) for r in healthy] == [(server_of(good).pk, True)]

    history = client.get(f"/api/v1/health-transitions/?server={server_of(bad).pk}").json()["results"]
    assert [(t["from_status"], t["to_status"], t["reason"]) for t in history] == [
        ("unknown", "unhealthy", "http_status")
    ]
    assert client.get(f"/api/v1/health-alerts/?active=true&upstream={upstream}").json()["count"] == 0
