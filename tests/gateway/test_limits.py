"""Rate limits and connection limits, measured: admitted rate under a paced overload, 429 + Retry-After,
exempt CIDRs never limited, and N concurrent slow requests allowed of N+1."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

OFFERED_PER_S = 200
SECONDS = 5
STREAMS = 4


def paced_load(gateway, source: str | None = None) -> tuple[Counter[int], set[str]]:
    """200 r/s for 5 s from `source`: 4 keep-alive streams of 50 r/s, 5 ms apart; (statuses, Retry-After)."""
    interval = STREAMS / OFFERED_PER_S
    start = time.monotonic() + 0.2

    def stream(n: int) -> tuple[Counter[int], set[str]]:
        statuses: Counter[int] = Counter()
        retry_after = set()
        conn = gateway.connection(source)
        try:
            for k in range(OFFERED_PER_S * SECONDS // STREAMS):
                time.sleep(max(0.0, start + n * interval / STREAMS + k * interval - time.monotonic()))
                answer = gateway.request("/limited", conn=conn)
                statuses[answer.status] += 1
                if answer.status == 429:
                    retry_after.add(answer.headers.get("Retry-After", "missing"))
        finally:
            conn.close()
        return statuses, retry_after

    with ThreadPoolExecutor(STREAMS) as pool:
        results = list(pool.map(stream, range(STREAMS)))
    total: Counter[int] = Counter()
    for statuses, _ in results:
        total.update(statuses)
    return total, set().union(*(r for _, r in results))


def test_a_rate_limit_admits_its_rate_and_answers_429_with_retry_after_except_to_exempt_clients(gateway):
    web = gateway.upstream("web")
    site = gateway.virtual_server(web)
    gateway.post(
        "/api/v1/rate-limits/",
        {
            "name": "per-ip",
            "rate": 50,
            "burst": 0,
            "retry_after_s": 2,
            "exempt": ["127.0.0.2/32"],
            "virtual_servers": [site.pk],
        },
    )
    gateway.live()
    statuses, retry_after = paced_load(gateway)
    assert set(statuses) == {200, 429}, statuses
    admitted_per_s = statuses[200] / SECONDS
    assert 45 <= admitted_per_s <= 55, statuses
    assert retry_after == {"2"}
    exempt, _ = paced_load(gateway, source="127.0.0.2")
    assert exempt == {200: OFFERED_PER_S * SECONDS}


def test_a_connection_limit_of_n_holds_n_plus_one_slow_requests_to_n(gateway):
    slow = gateway.upstream("slow", delay_ms=1500)
    gateway.virtual_server(None)
    route = gateway.route(path_prefix="/limited", upstream=slow.pk)
    gateway.post("/api/v1/rate-limits/", {"name": "three", "connections": 3, "routes": [route["id"]]})
    gateway.live()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: gateway.request("/limited"), range(4)))
    assert Counter(a.status for a in answers) == {200: 3, 503: 1}
    refused = next(a for a in answers if a.status == 503)
    assert refused.headers["Retry-After"] == "1"
    assert refused.backend == ""
    assert gateway.pools.started[0].hits() == 3
