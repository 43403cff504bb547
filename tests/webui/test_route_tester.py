"""The route tester on a virtual server's page answers as `POST /api/v1/routes/match/` does."""

from __future__ import annotations

from appliance.lb.models import Route, Upstream


def ask(client, sample, htmx: bool = True, **sample_request):  # type: ignore[no-untyped-def]
    headers = {"HX-Request": "true"} if htmx else {}
    url = f"/virtual-servers/{sample.virtual_server.pk}/route-test/"
    return client.get(url, {"method": "GET", "path": "/", **sample_request}, headers=headers)


def test_the_tester_names_the_route_each_sample_request_takes(viewer, sample):
    beta = Upstream.objects.create(name="beta")
    tenant = Route.objects.create(
        virtual_server=sample.virtual_server,
        priority=10,
        path_prefix="/api",
        header_name="X-Tenant",
        header_match="exact",
        header_value="beta",
        upstream=beta,
    )
    plain = ask(viewer, sample, path="/api/orders")
    assert plain.context["decision"]["route"] == sample.route.pk
    assert plain.context["decision"]["upstream"] == "web"
    tenanted = ask(viewer, sample, path="/api/orders", headers="X-Tenant: beta\nAccept: */*")
    assert tenanted.context["decision"]["route"] == tenant.pk
    assert f'data-route-id="{tenant.pk}"' in tenanted.content.decode()
    assert tenanted.context["decision"]["upstream"] == "beta"
    other = ask(viewer, sample, path="/static/app.css")
    assert (
        other.context["decision"]["route"] is None and "default upstream takes it" in other.content.decode()
    )


def test_htmx_gets_the_partial_and_a_plain_request_the_whole_page(viewer, sample):
    partial = ask(viewer, sample, path="/api").content.decode()
    assert partial.lstrip().startswith('<section id="route-tester"') and "<html" not in partial
    assert "<html" in ask(viewer, sample, htmx=False, path="/api").content.decode()


def test_a_malformed_header_line_is_named_next_to_the_field(viewer, sample):
    response = ask(viewer, sample, path="/api", headers="X-Ok: 1\nno colon here")
    assert response.context["sample_form"].errors == {"headers": ["line 2: expected Name: value"]}
    assert response.context["decision"] is None


def test_the_virtual_server_page_carries_the_tester_form(viewer, sample):
    html = viewer.get(f"/virtual-servers/{sample.virtual_server.pk}/").content.decode()
    assert f'hx-get="/virtual-servers/{sample.virtual_server.pk}/route-test/"' in html
