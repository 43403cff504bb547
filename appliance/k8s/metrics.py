"""What the autoscaler reads: the load balancer's view of an upstream over a recent window.

A small interface (`MetricsProvider`) so that the scaling algorithm and its decisions do not depend on how
the figures are collected; `default_provider()` answers from the data-plane metrics that nginx counts
itself and the observability scraper rolls up every 2 s (`appliance.observability.services`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from appliance.observability import services as observability


@dataclass(frozen=True)
class ServerLoad:
    rps: float
    inflight: float


@dataclass(frozen=True)
class UpstreamLoad:
    """Measured by the load balancer over `window_s` seconds; servers keyed `address:port` (`[v6]:port`)."""

    window_s: float
    rps: float
    inflight: float
    p95_ms: float | None  # None when no request completed in the window
    servers: Mapping[str, ServerLoad] = field(default_factory=dict)


class MetricsProvider(Protocol):
    def upstream_load(self, upstream: str, window_s: int) -> UpstreamLoad | None:
        """The upstream's recent load, or None when there are no metrics for it (yet)."""


class ObservabilityProvider:
    """Per-server rates measured per try at that server; in-flight per server by Little's law."""

    def upstream_load(self, upstream: str, window_s: int) -> UpstreamLoad | None:
        stats = observability.upstream_stats(upstream, window_s)
        if stats is None:
            return None
        return UpstreamLoad(
            window_s=stats.covered_s,
            rps=stats.rps,
            inflight=stats.inflight,
            p95_ms=stats.p95_ms,
            servers={address: ServerLoad(s.rps, s.inflight) for address, s in stats.servers.items()},
        )


def default_provider() -> MetricsProvider:
    return ObservabilityProvider()
