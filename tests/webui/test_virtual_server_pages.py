"""Virtual server and route pages: list fields checked item by item, routes in the order nginx tries them."""

from __future__ import annotations

from appliance.lb.models import Route, VirtualServer
from tests.webui.conftest import generation


def test_creating_a_virtual_server_sorts_its_ports_and_marks_the_change(operator, sample):
    before = generation()
    data = {"name": "shop", "hostnames": "shop.example.com, *.example.org", "http_ports": "8081, 8080"}
    response = operator.post("/virtual-servers/add/", {**data, "default_upstream": sample.upstream.pk})
    shop = VirtualServer.objects.get(name="shop")
    assert response.status_code == 302 and response["Location"] == f"/virtual-servers/{shop.pk}/"
    assert shop.http_ports == [8080, 8081] and shop.hostnames == ["shop.example.com", "*.example.org"]
    assert generation() == before + 1


def test_each_bad_list_item_is_named_in_its_field_error(operator, db):
    data = {"name": "shop", "hostnames": "ok.example.com, bad host;", "http_ports": "8080, 8080"}
    response = operator.post("/virtual-servers/add/", data)
    errors = response.context["form"].errors
    assert response.status_code == 200 and set(errors) == {"hostnames", "http_ports"}
    assert errors["http_ports"] == ["ports must not repeat"]
    assert "Item 2" in errors["hostnames"][0]
    response = operator.post("/virtual-servers/add/", {**data, "hostnames": "", "http_ports": "70000"})
    assert "Item 1" in response.context["form"].errors["http_ports"][0]
    assert not VirtualServer.objects.filter(name="shop").exists()


def route_form(**fields: object) -> dict[str, object]:
    """What the browser posts for a new route: the form's initial values plus `fields`."""
    form = {"priority": 100, "path_kind": "prefix", "action": "forward", "redirect_status": 302}
    return {
        **form,
        "respond_status": 200,
        "canary_weight": 0,
        "request_headers": "{}",
        "response_headers": "{}",
        **fields,
    }


def test_routes_are_listed_in_priority_order(viewer, operator, sample):
    url = f"/virtual-servers/{sample.virtual_server.pk}/routes/add/"
    for priority, prefix in ((50, "/first"), (500, "/last")):
        data = route_form(priority=priority, path_prefix=prefix, upstream=sample.upstream.pk)
        response = operator.post(url, data)
        assert response.status_code == 302, response.context and response.context["form"].errors
    html = viewer.get(f"/virtual-servers/{sample.virtual_server.pk}/").content.decode()
    positions = [html.index(f"<code>{prefix}</code>") for prefix in ("/first", "/api", "/last")]
    assert positions == sorted(positions)


def test_a_route_is_checked_by_the_models_rules_field_by_field(operator, sample):
    url = f"/virtual-servers/{sample.virtual_server.pk}/routes/add/"
    response = operator.post(url, route_form(path_prefix="/shop"))
    assert response.context["form"].errors["upstream"] == ["a forward route needs an upstream"]
    response = operator.post(url, route_form(path_prefix="/a$b", upstream=sample.upstream.pk))
    assert "path_prefix" in response.context["form"].errors
    response = operator.post(
        url, route_form(path_prefix="/c", upstream=sample.upstream.pk, header_name="X-A")
    )
    assert "header_match" in response.context["form"].errors
    assert Route.objects.count() == 1


def test_editing_a_route_changes_its_priority_and_methods(operator, sample):
    before = generation()
    data = route_form(priority=7, path_prefix="/api", upstream=sample.upstream.pk, methods=["GET", "HEAD"])
    assert operator.post(f"/routes/{sample.route.pk}/edit/", data).status_code == 302
    route = Route.objects.get(pk=sample.route.pk)
    assert (route.priority, route.methods) == (7, ["GET", "HEAD"]) and generation() == before + 1


def test_the_route_list_searches_by_path(viewer, sample):
    response = viewer.get("/routes/", {"q": "ap"})
    assert [r.path_prefix for r in response.context["page"]] == ["/api"]
    assert list(viewer.get("/routes/", {"q": "nothing"}).context["page"]) == []
