"""nginx counts its own traffic: exact counts per label set, histograms, reloads, removed servers."""

from __future__ import annotations

from collections import Counter

from django.db import transaction

from appliance.lb import services
from appliance.lb.models import Server
from tests.observability.conftest import fetch, node_metrics, promtool_check, select
from tests.support.lb import spread, wait_until


def _requests(parsed, upstream: str) -> dict[tuple[str, str], float]:  # type: ignore[no-untyped-def]
    """lb_requests_total of one upstream as {(virtual server, status class): count}."""
    return {
        (dict(labels)["virtual_server"], dict(labels)["status_class"]): value
        for labels, value in select(parsed, "lb_requests_total", upstream=upstream).items()
    }


def _wait_for(pools, upstream: str, expected: dict[tuple[str, str], float]):  # type: ignore[no-untyped-def]
    """The node's metrics once `upstream`'s request counts are `expected` (workers flush every second)."""
    return wait_until(
        lambda: (parsed := node_metrics(pools)) and _requests(parsed, upstream) == expected and parsed,
        15,
        f"{upstream}'s counts to reach {expected}",
        interval=0.25,
    )


def _one(found: dict) -> float:  # type: ignore[type-arg]
    assert len(found) == 1, found
    return next(iter(found.values()))


def _buckets(parsed, name: str, **labels: str) -> list[float]:  # type: ignore[no-untyped-def]
    found = select(parsed, name + "_bucket", **labels)
    by_le = {float(dict(key)["le"]): value for key, value in found.items()}
    return [by_le[le] for le in sorted(by_le)]


def test_counters_and_histograms_equal_the_requests_sent_per_label_set(pools):
    a1, b1 = pools.backend("obs-a1"), pools.backend("obs-b1")
    url_a, url_b = pools.pool("obs-a", [a1]), pools.pool("obs-b", [b1])
    assert spread(url_a, 137) == Counter({"obs-a1": 137})
    assert spread(url_b, 46) == Counter({"obs-b1": 46})
    assert spread(url_b + "/__status/500", 13) == Counter({"status 500": 13})
    assert (a1.hits(), b1.hits()) == (137, 59)

    _wait_for(pools, "obs-a", {("vs-obs-a", "2xx"): 137})
    parsed = _wait_for(pools, "obs-b", {("vs-obs-b", "2xx"): 46, ("vs-obs-b", "5xx"): 13})
    for vs, upstream, backend, sent in (("vs-obs-a", "obs-a", a1, 137), ("vs-obs-b", "obs-b", b1, 59)):
        route = {"virtual_server": vs, "route": "/", "upstream": upstream}
        server = {"upstream": upstream, "server": f"127.0.0.1:{backend.port}"}
        assert _one(select(parsed, "lb_request_duration_seconds_count", **route)) == sent
        buckets = _buckets(parsed, "lb_request_duration_seconds", **route)
        assert buckets == sorted(buckets) and buckets[-1] == sent
        assert _one(select(parsed, "lb_upstream_response_duration_seconds_count", **server)) == sent
        upstream_buckets = _buckets(parsed, "lb_upstream_response_duration_seconds", **server)
        assert upstream_buckets == sorted(upstream_buckets) and upstream_buckets[-1] == sent
        assert _one(select(parsed, "lb_request_bytes_total", **route)) > 0
        assert _one(select(parsed, "lb_response_bytes_total", **route)) > 0
        assert _one(select(parsed, "lb_upstream_inflight_requests", upstream=upstream)) == 0
        assert select(parsed, "lb_upstream_connect_failures_total", **server) == {}
        assert select(parsed, "lb_upstream_retries_total", upstream=upstream) == {}
    tries = {
        (dict(k)["upstream"], dict(k)["status_class"]): v
        for k, v in select(parsed, "lb_upstream_requests_total").items()
        if dict(k)["upstream"] in ("obs-a", "obs-b")
    }
    assert tries == {("obs-a", "2xx"): 137, ("obs-b", "2xx"): 46, ("obs-b", "5xx"): 13}


def test_a_dead_server_shows_as_connect_failures_and_retries(pools):
    live, dead = pools.backend("obs-live"), pools.backend("obs-dead")
    url = pools.pool("obs-f", [live, dead])
    dead.kill()
    assert spread(url, 30, threads=1) == Counter({"obs-live": 30})
    parsed = _wait_for(pools, "obs-f", {("vs-obs-f", "2xx"): 30})
    failed = {"upstream": "obs-f", "server": f"127.0.0.1:{dead.port}"}
    failures = _one(select(parsed, "lb_upstream_connect_failures_total", **failed))
    # Passive failover: each refused connect is retried on the live server; nginx then rests the dead one.
    assert failures >= 1
    assert _one(select(parsed, "lb_upstream_retries_total", upstream="obs-f")) == failures
    assert _one(select(parsed, "lb_upstream_requests_total", status_class="5xx", **failed)) == failures


def test_counters_survive_a_reload_and_a_removed_servers_series_disappear(pools):
    kept, removed = pools.backend("obs-kept"), pools.backend("obs-removed")
    url = pools.pool("obs-r", [kept, removed])
    sent = spread(url, 40)
    assert (
        sent.total() == 40 and sent["obs-kept"] == kept.hits() and sent["obs-removed"] == removed.hits() > 0
    )
    # The reload follows at once: what the old workers counted must reach the dict as they exit.
    with transaction.atomic():
        Server.objects.filter(port=removed.port).delete()
        services.mark_changed("observability test: remove a server", "tests")
    pools.wait()
    parsed = _wait_for(pools, "obs-r", {("vs-obs-r", "2xx"): 40})
    servers = {dict(k)["server"] for k in select(parsed, "lb_upstream_requests_total", upstream="obs-r")}
    assert servers == {f"127.0.0.1:{kept.port}"}
    assert not any(dict(key[1]).get("server") == f"127.0.0.1:{removed.port}" for key in parsed)
    assert spread(url, 10) == Counter({"obs-kept": 10})
    parsed = _wait_for(pools, "obs-r", {("vs-obs-r", "2xx"): 50})
    kept_tries = select(
        parsed, "lb_upstream_requests_total", upstream="obs-r", server=f"127.0.0.1:{kept.port}"
    )
    assert _one(kept_tries) == kept.hits() == sent["obs-kept"] + 10
    assert _one(select(parsed, "lb_config_reloads_total")) >= 2


def test_the_node_exports_valid_prometheus_text_with_nginx_connection_counts(pools, promtool):
    url = pools.pool("obs-t", [pools.backend("obs-t1")])
    spread(url, 5)
    status, content_type, body = fetch(pools.status_urls[0] + "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    check = promtool_check(body)
    assert check.returncode == 0, check.stdout + check.stderr
    parsed = node_metrics(pools)
    assert _one(select(parsed, "nginx_connections_accepted_total")) >= 5
    assert _one(select(parsed, "nginx_connections_active")) >= 1  # this scrape's own connection
    assert _one(select(parsed, "lb_config_revision")) == pools.wait().number
