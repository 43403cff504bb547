"""Reading a data-plane node's /metrics: fetch, parse into flat counters, and sum deltas per upstream.

A `Sample` keeps every counter series of one scrape under a flat key ("req\\t<vs>\\t<route>\\t<upstream>\\t
<class>", ...), so that increases are computed per series: summing first would turn the removal of one
route (its series disappear from the export) into a drop of the sum, mistaken for a counter reset.
Increases are then added up per upstream, per upstream server and for everything (`ALL`).

Restarts: a counter below its previous value restarted from zero (`stats.counter_delta`); a node whose
`nginx_connections_accepted_total` went down restarted as a whole (nginx's connection counters live in
shared memory that survives reloads, not restarts), and then every series counts from zero.
"""

from __future__ import annotations

import math
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from appliance.observability.stats import BUCKETS, NB, Traffic, deltas

ALL = "_all"  # upstream names start with a letter or digit, so this scope cannot collide with one
SEP = "\t"
_LE_INDEX = {**{bound: i for i, bound in enumerate(BUCKETS)}, math.inf: NB - 1}
_ROUTE_LABELS = ("virtual_server", "route", "upstream")
_SERVER_LABELS = ("upstream", "server")
# sample name → (key prefix, label names); histogram buckets add the bucket index, classes the class.
_COUNTERS = {
    "lb_requests_total": ("req", (*_ROUTE_LABELS, "status_class")),
    "lb_request_duration_seconds_bucket": ("dur", _ROUTE_LABELS),
    "lb_request_duration_seconds_sum": ("dsum", _ROUTE_LABELS),
    "lb_request_bytes_total": ("bin", _ROUTE_LABELS),
    "lb_response_bytes_total": ("bout", _ROUTE_LABELS),
    "lb_upstream_requests_total": ("ureq", (*_SERVER_LABELS, "status_class")),
    "lb_upstream_response_duration_seconds_bucket": ("udur", _SERVER_LABELS),
    "lb_upstream_response_duration_seconds_sum": ("usum", _SERVER_LABELS),
    "lb_upstream_connect_failures_total": ("ucf", _SERVER_LABELS),
    "lb_upstream_retries_total": ("uretry", ("upstream",)),
    "lb_upstream_unavailable_total": ("unolive", ("upstream",)),
}


@dataclass
class Sample:
    """One scrape of one node: counter series, in-flight gauges per upstream, and the restart marker."""

    counters: dict[str, float] = field(default_factory=dict)
    inflight: dict[str, float] = field(default_factory=dict)
    accepted: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {"counters": self.counters, "inflight": self.inflight, "accepted": self.accepted}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Sample:
        return cls(
            counters=dict(data.get("counters") or {}),  # type: ignore[call-overload]
            inflight=dict(data.get("inflight") or {}),  # type: ignore[call-overload]
            accepted=float(data.get("accepted") or 0),  # type: ignore[arg-type]
        )


def fetch(status_url: str, timeout_s: float) -> str:
    with urllib.request.urlopen(status_url + "/metrics", timeout=timeout_s) as response:  # noqa: S310 - node URL
        return str(response.read().decode("utf-8"))


def parse(text: str) -> Sample:
    """The counters the rollups use, out of a node's Prometheus text (other families are ignored)."""
    sample = Sample()
    for family in text_string_to_metric_families(text):
        for name, labels, value, *_ in family.samples:
            if name in _COUNTERS:
                prefix, label_names = _COUNTERS[name]
                parts = [prefix, *(labels.get(n, "") for n in label_names)]
                if name.endswith("_bucket"):
                    parts.append(str(_LE_INDEX[float(labels["le"])]))
                sample.counters[SEP.join(parts)] = float(value)
            elif name == "lb_upstream_inflight_requests":
                sample.inflight[labels["upstream"]] = float(value)
            elif name == "nginx_connections_accepted_total":
                sample.accepted = float(value)
    return sample


def increases(previous: Sample | None, current: Sample) -> dict[str, float]:
    """Per-series increases since `previous` (nothing for a node seen for the first time)."""
    if previous is None:
        return {}
    return deltas(previous.counters, current.counters, restarted=current.accepted < previous.accepted)


@dataclass
class Tick:
    """What every node served since the previous scrape, per scope: upstreams, their servers, and ALL."""

    scopes: dict[str, Traffic] = field(default_factory=dict)
    servers: dict[str, dict[str, Traffic]] = field(default_factory=dict)

    def scope(self, name: str) -> Traffic:
        return self.scopes.setdefault(name, Traffic())

    def server(self, upstream: str, address: str) -> Traffic:
        return self.servers.setdefault(upstream, {}).setdefault(address, Traffic())

    def add_increases(self, increases: dict[str, float]) -> None:
        for key, value in increases.items():
            kind, *labels = key.split(SEP)
            if kind in ("req", "dur", "dsum", "bin", "bout"):
                self._add_route(kind, labels, value)
            elif kind in ("ureq", "udur", "usum", "ucf"):
                self._add_server(kind, labels, value)
            elif kind == "uretry":
                self.scope(labels[0]).retries += value
            elif kind == "unolive":
                self.scope(labels[0]).unavailable += value

    def add_inflight(self, inflight: dict[str, float]) -> None:
        for upstream, value in inflight.items():
            self.scope(upstream).inflight_sum += value
            self.scope(ALL).inflight_sum += value

    def _add_route(self, kind: str, labels: list[str], value: float) -> None:
        upstream = labels[2]
        targets = [self.scope(ALL)] + ([self.scope(upstream)] if upstream else [])
        for traffic in targets:
            _count(traffic, kind, labels, value, error_classes=("5xx",))

    def _add_server(self, kind: str, labels: list[str], value: float) -> None:
        upstream, address = labels[0], labels[1]
        if kind == "ucf":
            self.scope(upstream).connect_failures += value
        _count(self.server(upstream, address), kind, labels, value, error_classes=("5xx", "none"))


def _count(
    traffic: Traffic, kind: str, labels: list[str], value: float, error_classes: tuple[str, ...]
) -> None:
    if kind in ("req", "ureq"):
        traffic.requests += value
        if labels[-1] in error_classes:
            traffic.errors += value
    elif kind in ("dur", "udur"):
        traffic.buckets[int(labels[-1])] += value
    elif kind in ("dsum", "usum"):
        traffic.duration_sum += value
    elif kind == "bin":
        traffic.bytes_in += value
    elif kind == "bout":
        traffic.bytes_out += value
    elif kind == "ucf":
        traffic.connect_failures += value
