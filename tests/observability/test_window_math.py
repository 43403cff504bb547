"""Rates and percentiles from scraped counters: resets, removed series, histogram quantiles (no services)."""

from __future__ import annotations

import pytest

from appliance.observability.scraper import ALL, Sample, Tick, increases, parse
from appliance.observability.stats import BUCKETS, NB, Traffic, counter_delta, figures, quantile

PAGE = """\
# TYPE lb_requests_total counter
lb_requests_total{virtual_server="vs",route="/",upstream="web",status_class="2xx"} 90
lb_requests_total{virtual_server="vs",route="/",upstream="web",status_class="5xx"} 10
lb_requests_total{virtual_server="vs",route="",upstream="",status_class="4xx"} 5
# TYPE lb_request_duration_seconds histogram
lb_request_duration_seconds_bucket{virtual_server="vs",route="/",upstream="web",le="0.005"} 0
lb_request_duration_seconds_bucket{virtual_server="vs",route="/",upstream="web",le="0.01"} 50
lb_request_duration_seconds_bucket{virtual_server="vs",route="/",upstream="web",le="0.025"} 100
{rest}
lb_request_duration_seconds_bucket{virtual_server="vs",route="/",upstream="web",le="+Inf"} 100
lb_request_duration_seconds_sum{virtual_server="vs",route="/",upstream="web"} 1.2
lb_request_duration_seconds_count{virtual_server="vs",route="/",upstream="web"} 100
# TYPE lb_upstream_requests_total counter
lb_upstream_requests_total{upstream="web",server="10.0.0.1:80",status_class="2xx"} 90
lb_upstream_requests_total{upstream="web",server="10.0.0.1:80",status_class="none"} 4
# TYPE lb_upstream_connect_failures_total counter
lb_upstream_connect_failures_total{upstream="web",server="10.0.0.1:80"} 4
# TYPE lb_upstream_inflight_requests gauge
lb_upstream_inflight_requests{upstream="web"} 3
# TYPE nginx_connections_accepted_total counter
nginx_connections_accepted_total {accepted}
"""


def page(accepted: int = 1000, scale: int = 1) -> Sample:
    rest = "\n".join(
        f'lb_request_duration_seconds_bucket{{virtual_server="vs",route="/",upstream="web",le="{b:g}"}} 100'
        for b in BUCKETS[3:]
    )
    text = PAGE.replace("{rest}", rest).replace("{accepted}", str(accepted))
    sample = parse(text)
    sample.counters = {k: v * scale for k, v in sample.counters.items()}
    return sample


def test_a_counter_that_drops_restarted_from_zero():
    assert counter_delta(100, 130) == 30
    assert counter_delta(100, 7) == 7
    assert counter_delta(None, 7) == 7


def test_the_first_scrape_of_a_node_is_only_a_baseline():
    assert increases(None, page()) == {}


def test_increases_are_summed_per_upstream_server_and_for_everything():
    tick = Tick()
    tick.add_increases(increases(page(), page(scale=2)))  # every counter doubled: increase = first value
    tick.add_inflight(page().inflight)
    web, everything = tick.scopes["web"], tick.scopes[ALL]
    assert (web.requests, web.errors, everything.requests) == (100, 10, 105)
    assert web.buckets[1] == 50 and web.buckets[-1] == 100
    assert web.duration_sum == pytest.approx(1.2)
    server = tick.servers["web"]["10.0.0.1:80"]
    assert (server.requests, server.errors, server.connect_failures) == (94, 4, 4)
    assert web.inflight_sum == 3 and everything.inflight_sum == 3


def test_a_removed_series_is_not_mistaken_for_a_reset_of_the_others():
    before, after = page(), page(scale=2)
    gone = next(k for k in after.counters if k.endswith("5xx"))
    del after.counters[gone]
    tick = Tick()
    tick.add_increases(increases(before, after))
    assert tick.scopes["web"].requests == 90  # only the 2xx series grew; the removed one adds nothing


def test_a_node_restart_counts_every_series_from_zero():
    tick = Tick()
    tick.add_increases(increases(page(accepted=1000, scale=3), page(accepted=10, scale=3)))
    assert tick.scopes["web"].requests == 300  # counters did not drop, but the node restarted


def test_quantiles_interpolate_inside_buckets_like_histogram_quantile():
    cumulative = [0, 50, 100] + [100] * (NB - 3)
    assert quantile(cumulative, 0.5) == pytest.approx(0.01)
    assert quantile(cumulative, 0.75) == pytest.approx(0.0175)
    assert quantile([0] * (NB - 1) + [4], 0.99) == BUCKETS[-1]  # beyond the last bound: the last bound
    assert quantile([0] * NB, 0.5) is None


def test_rates_are_per_covered_second_and_littles_law_gives_concurrency():
    traffic = Traffic(requests=200, errors=20, duration_sum=30, inflight_sum=12)
    traffic.buckets = [0, 100, 200] + [200] * (NB - 3)
    result = figures(traffic, covered_s=10, samples=4)
    assert (result.rps, result.error_rate, result.inflight) == (20, 0.1, 3)
    assert result.p50_ms == pytest.approx(10)
    assert figures(traffic, covered_s=10, samples=4, littles_law=True).inflight == 3
