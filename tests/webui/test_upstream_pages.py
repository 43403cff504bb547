"""Upstream and server pages: changes go through model validation and mark desired state changed."""

from __future__ import annotations

from django.utils.html import escape

from appliance.lb.choices import ServerState
from appliance.lb.models import DesiredState, Server, Upstream
from tests.webui.conftest import generation


def upstream_form(**fields: object) -> dict[str, object]:
    form = {
        "name": "shop",
        "algorithm": "round_robin",
        "keepalive": 32,
        "connect_timeout_ms": 1000,
        "read_timeout_s": 30,
        "send_timeout_s": 30,
        "retry_conditions": ["error", "timeout"],
        "retry_tries": 3,
        "retry_timeout_s": 10,
    }
    return {**form, **fields}


def server_form(**fields: object) -> dict[str, object]:
    form = {"address": "127.0.0.1", "port": 9100, "weight": 1, "max_fails": 3, "fail_timeout_s": 10}
    return {"max_conns": 0, "state": "enabled", **form, **fields}


def test_creating_an_upstream_marks_the_change_for_the_compiler(operator, db):
    before = generation()
    response = operator.post("/upstreams/add/", upstream_form())
    upstream = Upstream.objects.get(name="shop")
    assert response.status_code == 302 and response["Location"] == f"/upstreams/{upstream.pk}/"
    assert upstream.retry_conditions == ["error", "timeout"]
    assert generation() == before + 1
    assert "create upstream shop" in DesiredState.objects.get(pk=1).cause


def test_a_new_upstream_starts_with_the_models_retry_conditions(operator, db):
    form = operator.get("/upstreams/add/").context["form"]
    assert form["retry_conditions"].value() == ["error", "timeout"]


def test_a_hostile_name_is_refused_next_to_its_field_and_nothing_is_saved(operator, db):
    before = generation()
    response = operator.post("/upstreams/add/", upstream_form(name="shop;evil"))
    assert response.status_code == 200
    assert not Upstream.objects.filter(name__startswith="shop").exists() and generation() == before
    errors = response.context["form"].errors
    assert list(errors) == ["name"]
    html = response.content.decode()
    # The message is rendered inside the name field's group, right after its label.
    name_group = html.split('for="id_name"', 1)[1].split('class="field', 1)[0]
    assert 'class="errorlist' in name_group and escape(errors["name"][0]) in name_group


def test_the_models_cross_field_rules_show_on_their_field(operator, db):
    response = operator.post("/upstreams/add/", upstream_form(hash_key="header"))
    assert response.status_code == 200
    assert response.context["form"].errors["hash_key"] == ["only the hash algorithm takes a hash key"]
    response = operator.post("/upstreams/add/", upstream_form(algorithm="hash", hash_key="header"))
    assert "hash_key_name" in response.context["form"].errors
    assert not Upstream.objects.filter(name="shop").exists()


def test_editing_an_upstream_checks_its_servers(operator, sample):
    Server.objects.filter(pk=sample.servers[0].pk).update(backup=True)
    url = f"/upstreams/{sample.upstream.pk}/edit/"
    response = operator.post(url, upstream_form(name="web", algorithm="ip_hash"))
    assert response.status_code == 200
    assert "does not allow backup servers" in response.context["form"].errors["algorithm"][0]
    assert Upstream.objects.get(pk=sample.upstream.pk).algorithm == "round_robin"


def test_adding_a_server_and_refusing_a_duplicate_member(operator, sample):
    url = f"/upstreams/{sample.upstream.pk}/servers/add/"
    assert operator.post(url, server_form(port=9100)).status_code == 302
    assert sample.upstream.servers.filter(port=9100).exists()
    response = operator.post(url, server_form(port=9100))
    assert response.status_code == 200
    assert response.context["form"].errors["port"] == ["127.0.0.1:9100 is already a member of this upstream"]
    response = operator.post(url, server_form(address="bad host", port=9101))
    assert "address" in response.context["form"].errors
    assert sample.upstream.servers.count() == 3


def test_draining_a_server_takes_one_click_and_one_change(operator, sample):
    server, before = sample.servers[0], generation()
    response = operator.post(f"/servers/{server.pk}/state/", {"state": "drain"})
    assert response.status_code == 302
    assert Server.objects.get(pk=server.pk).state == ServerState.DRAIN
    assert generation() == before + 1
    assert f"drain server web {server}" in DesiredState.objects.get(pk=1).cause


def test_htmx_gets_only_the_new_table_row(operator, sample):
    server = sample.servers[1]
    response = operator.post(f"/servers/{server.pk}/state/", {"state": "disabled"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="server-{server.pk}">') and "<html" not in html
    assert "Disabled</span>" in html and ">Enable<" in html and ">Disable<" not in html
    assert '<dd id="in-rotation" hx-swap-oob="true">1 / 2</dd>' in html
    assert Server.objects.get(pk=server.pk).state == ServerState.DISABLED


def test_an_unknown_state_is_refused(operator, sample):
    before = generation()
    response = operator.post(f"/servers/{sample.servers[0].pk}/state/", {"state": "down; reload"})
    assert response.status_code == 400 and generation() == before


def test_an_upstream_in_use_is_not_deleted_and_the_page_says_why(operator, sample):
    response = operator.post(f"/upstreams/{sample.upstream.pk}/delete/")
    assert response.status_code == 409
    assert "still used by" in response.content.decode()
    assert Upstream.objects.filter(pk=sample.upstream.pk).exists()


def test_deleting_asks_first_then_deletes(operator, db):
    upstream = Upstream.objects.create(name="spare")
    page = operator.get(f"/upstreams/{upstream.pk}/delete/")
    assert page.status_code == 200 and "Delete upstream spare?" in page.content.decode()
    assert Upstream.objects.filter(pk=upstream.pk).exists()
    before = generation()
    assert operator.post(f"/upstreams/{upstream.pk}/delete/").status_code == 302
    assert not Upstream.objects.filter(pk=upstream.pk).exists() and generation() == before + 1


def test_the_list_searches_and_summarises_health(viewer, sample):
    Upstream.objects.create(name="other")
    Server.objects.filter(pk=sample.servers[0].pk).update(state=ServerState.DRAIN)
    response = viewer.get("/upstreams/", {"q": "we"})
    rows = list(response.context["page"])
    assert [u.name for u in rows] == ["web"]
    assert (rows[0].server_total, rows[0].in_rotation, rows[0].draining) == (2, 1, 1)
    assert "partly out" in response.content.decode()
