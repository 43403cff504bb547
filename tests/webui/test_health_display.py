"""Health in the UI: why a server is out of rotation, failing open, and the history of changes."""

from __future__ import annotations

from django.utils import timezone

from appliance.health.models import HealthState, HealthTransition


def mark_unhealthy(server, detail: str = "connect() refused") -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    HealthState.objects.create(
        server=server,
        status="unhealthy",
        last_checked_at=now,
        last_result="connection_refused",
        last_detail=detail,
        last_latency_ms=3,
        changed_at=now,
    )
    HealthTransition.objects.create(
        server=server, seq=1, from_status="healthy", to_status="unhealthy", reason="connection_refused"
    )


def test_an_unhealthy_server_is_out_of_rotation_with_the_reason(viewer, sample):
    mark_unhealthy(sample.servers[0])
    response = viewer.get(f"/upstreams/{sample.upstream.pk}/")
    html = response.content.decode()
    upstream = response.context["upstream"]
    assert (upstream.in_rotation, upstream.unhealthy, upstream.fail_open) == (1, 1, False)
    assert "Connection refused: connect() refused" in html and "out of rotation: unhealthy" in html
    assert response.context["transitions"][0].server == sample.servers[0]
    assert "healthy → " in html


def test_when_every_server_is_unhealthy_the_upstream_fails_open(viewer, sample):
    for server in sample.servers:
        mark_unhealthy(server)
    response = viewer.get(f"/upstreams/{sample.upstream.pk}/")
    upstream = response.context["upstream"]
    assert (upstream.in_rotation, upstream.fail_open) == (2, True)
    assert "the upstream fails open" in response.content.decode()
    dashboard = viewer.get("/").content.decode()
    assert "1 upstream failing open" in dashboard and '<li class="tile bad">' in dashboard
    listing = viewer.get("/upstreams/").content.decode()
    assert "failing open</span>" in listing
