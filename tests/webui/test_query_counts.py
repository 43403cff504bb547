"""Every page runs a bounded number of queries, whatever the size of the configuration.

Each page is measured on a small data set, then again after adding forty upstreams of ten servers with
virtual servers, routes and revisions: the count must not grow (no query per row) and stays under a bound.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appliance.lb.models import Route, Server, Upstream, VirtualServer
from tests.webui.conftest import make_revision
from tests.webui.urls import every_url

MAX_QUERIES = 16


def grow(sample, upstreams: int = 40, servers: int = 10) -> None:  # type: ignore[no-untyped-def]
    made = Upstream.objects.bulk_create(Upstream(name=f"pool-{i:03d}") for i in range(upstreams))
    Server.objects.bulk_create(
        Server(upstream=u, address="127.0.0.1", port=10000 + j, state=("enabled", "drain")[j % 2])
        for u in made
        for j in range(servers)
    )
    Server.objects.bulk_create(
        Server(upstream=sample.upstream, address="127.0.0.2", port=20000 + j) for j in range(servers)
    )
    sites = VirtualServer.objects.bulk_create(
        VirtualServer(name=f"site-{i:03d}", http_ports=[9000 + i], default_upstream=u)
        for i, u in enumerate(made)
    )
    Route.objects.bulk_create(
        Route(virtual_server=sample.virtual_server, path_prefix=f"/p{i}", upstream=u)
        for i, u in enumerate(made)
    )
    Route.objects.bulk_create(Route(virtual_server=s, path_prefix="/x", upstream=made[0]) for s in sites)
    for i in range(12):
        make_revision({"upstreams/web.conf": f"server 127.0.0.1:{i};\n"}, sample.node, "applied")


def queries_per_page(client, sample) -> dict[str, int]:  # type: ignore[no-untyped-def]
    counts = {}
    for name, url in every_url(sample).items():
        if name == "server-state":
            continue
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200, name
        counts[name] = len(captured)
    return counts


def test_query_counts_do_not_grow_with_the_configuration(admin, sample, django_assert_max_num_queries):
    small = queries_per_page(admin, sample)
    grow(sample)
    large = queries_per_page(admin, sample)
    assert large == small
    for name, url in every_url(sample).items():
        if name != "server-state":
            with django_assert_max_num_queries(MAX_QUERIES):
                admin.get(url)


@pytest.mark.parametrize("search", [{"q": "pool-01"}, {"page": "2"}, {"algorithm": "round_robin"}])
def test_searching_and_paging_the_upstream_list_is_bounded(
    admin, sample, search, django_assert_max_num_queries
):
    grow(sample)
    with django_assert_max_num_queries(MAX_QUERIES):
        assert admin.get("/upstreams/", search).status_code == 200
