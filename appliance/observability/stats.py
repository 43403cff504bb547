"""Window arithmetic on data-plane counters: reset-aware deltas, sums of ticks, rates and percentiles.

Pure functions and plain data (no Django, Redis or clock), shared by the scraper, the rollups and the
query API. Histograms are kept cumulative, as Prometheus exports them: `buckets[i]` counts the
observations ≤ `BUCKETS[i]` and the last entry (+Inf) counts all of them, so sums of cumulative
deltas stay cumulative and percentiles are read the way PromQL's `histogram_quantile` reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# The data plane's histogram bounds in seconds (nginx/lua/metrics.lua); +Inf follows.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
NB = len(BUCKETS) + 1


def counter_delta(previous: float | None, current: float) -> float:
    """Increase of a counter between two scrapes; a drop means the counter restarted from zero."""
    if previous is None or current < previous:
        return current
    return current - previous


def deltas(previous: Mapping[str, float], current: Mapping[str, float], restarted: bool) -> dict[str, float]:
    """Per-series increases; a series new since `previous` counts from zero, all do after a restart."""
    if restarted:
        return {key: value for key, value in current.items() if value}
    out = {}
    for key, value in current.items():
        delta = counter_delta(previous.get(key), value)
        if delta:
            out[key] = delta
    return out


def quantile(buckets: Iterable[float], q: float) -> float | None:
    """The q-quantile in seconds from cumulative bucket counts (linear inside a bucket), or None if empty.

    Like `histogram_quantile`: an answer in the +Inf bucket is the largest finite bound.
    """
    counts = list(buckets)
    total = counts[-1] if counts else 0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(BUCKETS, counts, strict=False):
        if cumulative >= rank:
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return BUCKETS[-1]


@dataclass
class Traffic:
    """Counts summed over some ticks for one scope (an upstream, a server of it, or everything)."""

    requests: float = 0.0
    errors: float = 0.0  # 5xx answers (and, for servers, tries that got no answer)
    buckets: list[float] = field(default_factory=lambda: [0.0] * NB)
    duration_sum: float = 0.0
    inflight_sum: float = 0.0  # sampled in-flight gauge, summed over samples
    retries: float = 0.0
    unavailable: float = 0.0
    connect_failures: float = 0.0
    bytes_in: float = 0.0
    bytes_out: float = 0.0

    def add(self, other: Traffic) -> None:
        for name, value in vars(other).items():
            if name != "buckets":
                setattr(self, name, getattr(self, name) + value)
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]

    def to_dict(self) -> dict[str, object]:
        """Compact form for storage: zero fields left out."""
        out: dict[str, object] = {k: v for k, v in vars(self).items() if k != "buckets" and v}
        if any(self.buckets):
            out["buckets"] = self.buckets
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Traffic:
        traffic = cls(**{k: float(v) for k, v in data.items() if k != "buckets"})  # type: ignore[arg-type]
        buckets = data.get("buckets")
        if isinstance(buckets, list) and len(buckets) == NB:
            traffic.buckets = [float(b) for b in buckets]
        return traffic


@dataclass(frozen=True)
class Figures:
    """What a window of traffic amounts to, per second of the time the scraper covered."""

    requests: float
    rps: float
    error_rate: float | None  # share of requests, None without requests
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    inflight: float  # mean of the sampled gauge (upstreams) or, for servers, Little's law
    connect_failures_per_s: float
    retries_per_s: float


def figures(traffic: Traffic, covered_s: float, samples: int, littles_law: bool = False) -> Figures:
    """Rates over `covered_s` seconds; `samples` = scrapes in the window (for the gauge's mean)."""
    span = max(covered_s, 1e-9)

    def ms(q: float) -> float | None:
        seconds = quantile(traffic.buckets, q)
        return None if seconds is None else round(seconds * 1000, 3)

    if littles_law:
        inflight = traffic.duration_sum / span  # mean concurrency = time spent in requests per second
    else:
        inflight = traffic.inflight_sum / samples if samples else 0.0
    return Figures(
        requests=traffic.requests,
        rps=traffic.requests / span,
        error_rate=traffic.errors / traffic.requests if traffic.requests else None,
        p50_ms=ms(0.5),
        p95_ms=ms(0.95),
        p99_ms=ms(0.99),
        inflight=inflight,
        connect_failures_per_s=traffic.connect_failures / span,
        retries_per_s=traffic.retries / span,
    )
