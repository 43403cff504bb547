"""The dashboard: revisions and nodes, upstream health, apply chart, expiring certificates, live partial."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from appliance.lb.choices import ServerState
from appliance.lb.models import DataPlaneNode, Server, Upstream
from appliance.tls.models import Certificate
from tests.webui.conftest import make_revision


def test_it_says_every_node_runs_the_live_revision(viewer, sample):
    html = viewer.get("/").content.decode()
    live = sample.revisions[1].number
    assert f"Every active node runs revision #{live}." in html and "in sync" in html


def test_it_shows_a_node_that_is_behind_and_a_newer_failed_revision(viewer, sample):
    DataPlaneNode.objects.create(name="node2", status_url="http://127.0.0.1:2", live_revision=1)
    failed = make_revision({"x.conf": "x"}, sample.node, "failed")
    html = viewer.get("/").content.decode()
    assert "Not every active node runs the live revision." in html and "behind" in html
    assert f"#{failed.number}</a> is" in html and "the previous revision keeps serving" in html


def test_upstreams_with_servers_out_of_rotation_come_first(viewer, sample):
    Upstream.objects.create(name="aaa-empty")
    Server.objects.filter(upstream=sample.upstream).update(state=ServerState.DISABLED)
    response = viewer.get("/dashboard/live/")
    tiles = response.context["tiles"]
    assert [t.name for t in tiles][:1] == ["web"] and (tiles[0].in_rotation, tiles[0].server_total) == (0, 2)
    assert '<li class="tile bad">' in response.content.decode()
    assert response.context["totals"]["disabled"] == 2


def test_the_partial_polls_itself_and_is_not_a_whole_page(viewer, sample):
    html = viewer.get("/dashboard/live/").content.decode()
    assert html.lstrip().startswith('<div id="live" hx-get="/dashboard/live/" hx-trigger="every 5s"')
    assert "<html" not in html


def test_the_apply_chart_has_a_bar_per_revision_and_marks_failures(viewer, sample):
    make_revision({"x.conf": "x"}, sample.node, "failed")
    chart = viewer.get("/").context["apply_chart"]
    assert [bar.css for bar in chart.bars] == ["bar-ok", "bar-ok", "bar-bad"]
    assert all(0 < bar.height <= chart.height for bar in chart.bars)


def test_certificates_about_to_expire_are_listed_soonest_first(viewer, sample):
    now = timezone.now()
    for name, days in (("later", 20), ("soon", 3), ("far", 90)):
        Certificate.objects.create(name=name, source="uploaded", not_after=now + timedelta(days=days))
    response = viewer.get("/dashboard/live/")
    assert [c.name for c in response.context["expiring"]] == ["soon", "later"]
    soon = Certificate.objects.get(name="soon")
    assert f'<th scope="row"><a href="/certificates/{soon.pk}/">soon</a></th>' in response.content.decode()
