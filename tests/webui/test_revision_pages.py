"""Revision pages: timeline with per-node state, diffs between any two revisions, rollback after asking."""

from __future__ import annotations

from appliance.lb.models import ConfigRevision
from tests.webui.conftest import make_revision


def test_the_timeline_shows_each_nodes_state_and_marks_the_live_revision(viewer, sample):
    failed = make_revision({"upstreams/web.conf": "broken;\n"}, sample.node, "failed")
    html = viewer.get("/revisions/").content.decode()
    assert html.index(f"#{failed.number}</a>") < html.index(f"#{sample.revisions[1].number}</a>")
    assert "node1: failed" in html and "node1: applied" in html
    assert f'#{sample.revisions[1].number}</a> <span class="badge ok">live</span>' in html


def test_the_detail_shows_nginx_output_of_a_failure(viewer, sample):
    failed = make_revision({"upstreams/web.conf": "broken;\n"}, sample.node, "failed")
    failed.node_statuses.update(message='nginx: [emerg] unknown directive "broken"')
    ConfigRevision.objects.filter(pk=failed.pk).update(error='[node1] unknown directive "broken"')
    html = viewer.get(f"/revisions/{failed.number}/").content.decode()
    assert "nginx refused it" in html and "unknown directive &quot;broken&quot;" in html
    assert '<span class="added">+broken;</span>' in html


def test_any_two_revisions_can_be_compared(viewer, sample):
    old, new = sample.revisions
    response = viewer.get("/revisions/diff/", {"old": old.number, "new": new.number})
    assert ("removed", "-server 127.0.0.1:9001;") in response.context["diff"]
    assert ("added", "+server 127.0.0.1:9002;") in response.context["diff"]
    response = viewer.get("/revisions/diff/", {"old": old.number, "new": 999999})
    assert response.context["form"].errors["new"] == ["there is no revision 999999"]


def test_rollback_asks_first_then_creates_a_new_revision(operator, sample):
    old, live = sample.revisions
    page = operator.get(f"/revisions/{old.number}/rollback/")
    assert page.status_code == 200 and ConfigRevision.objects.count() == 2
    assert ("added", "+server 127.0.0.1:9001;") in page.context["diff"]
    response = operator.post(f"/revisions/{old.number}/rollback/")
    newest = ConfigRevision.objects.first()
    assert response["Location"] == f"/revisions/{newest.number}/"
    assert newest.rollback_of_id == old.pk and newest.files == old.files and newest.number > live.number
