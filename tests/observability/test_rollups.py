"""The rollup API the UI and the autoscaler read: rates from the scraped ticks, then from minute rows."""

from __future__ import annotations

import http.client
import threading
import time

from appliance.observability import rollups, services
from tests.support.lb import wait_until

RATE = 20  # requests per second
SECONDS = 12


def paced_traffic(port: int, sent: list[int]) -> None:
    """RATE requests per second for SECONDS seconds on one keep-alive connection; counts the 200s."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    start = time.monotonic()
    for n in range(RATE * SECONDS):
        time.sleep(max(0.0, start + n / RATE - time.monotonic()))
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        sent[0] += response.status == 200
    conn.close()


def test_upstream_stats_report_the_rate_sent_and_every_request_once(pools):
    backend = pools.backend("obs-roll1")
    port = int(pools.pool("obs-roll", [backend]).rsplit(":", 1)[1])
    sent = [0]
    traffic = threading.Thread(target=paced_traffic, args=(port, sent))
    traffic.start()
    time.sleep(SECONDS * 0.75)
    during = services.upstream_stats("obs-roll", 8)
    traffic.join()
    assert during is not None and RATE * 0.4 < during.rps < RATE * 2, during
    assert during.error_rate == 0 and during.p95_ms is not None and during.p95_ms < 1000
    assert during.servers[f"127.0.0.1:{backend.port}"].rps > 0

    assert sent[0] == RATE * SECONDS
    # Every request is counted exactly once across scrapes, whatever the tick boundaries.
    stats = wait_until(
        lambda: (s := services.upstream_stats("obs-roll", 120)) and s.requests == sent[0] and s,
        15,
        "every request in the rollups",
        interval=0.5,
    )
    assert stats.servers[f"127.0.0.1:{backend.port}"].requests == sent[0]
    everything = services.upstream_stats(services.ALL, 120)
    assert everything is not None and everything.requests >= sent[0]
    points = services.series("obs-roll", 120, step_s=4)
    assert sum(p.rps for p in points) > 0 and all(p.error_rate in (0, None) for p in points)


def test_minute_rollups_keep_the_same_counts_for_long_windows(pools):
    url = pools.pool("obs-min", [pools.backend("obs-min1")])
    port = int(url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for _ in range(50):
        conn.request("GET", "/")
        conn.getresponse().read()
    conn.close()
    wait_until(
        lambda: (s := services.upstream_stats("obs-min", 120)) and s.requests == 50, 15, "ticks", interval=0.5
    )
    # As if two minutes had passed: every minute held in Redis is complete and gets rolled up.
    assert rollups.roll_up(time.time() + 120) > 0
    long_window = services.upstream_stats("obs-min", 3600)
    assert long_window is not None and long_window.requests == 50
    assert long_window.covered_s > 0 and long_window.rps > 0
    assert services.series("obs-min", 3600)  # per-minute points for a long chart
