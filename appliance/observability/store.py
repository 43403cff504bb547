"""The short-term metrics store in Redis: one tick per scrape, kept for `FINE_RETENTION_S`.

    lb:obs:tick:<scope>   sorted set, score = tick time; member = JSON {"t", "dt", "traffic", "servers"}
                          (scope = an upstream name, or scraper.ALL for everything the nodes served)
    lb:obs:node:<name>    the node's previous sample (JSON), to compute the next increases
    lb:obs:last-tick      time of the previous tick: the next tick covers the seconds since
    lb:obs:scrapes        hash "<node>|ok" / "<node>|failed" → number of scrapes
    lb:obs:celery         hash "<task>|<outcome>" → number of task runs (appliance.observability.receivers)

Every ALL tick is written, traffic or not, so the sum of its `dt` is the time the scraper covered: the
denominator of every rate. Other scopes get a tick only when they had traffic or requests in flight.
Redis has no persistence here; losing it loses at most the last `FINE_RETENTION_S` of fine-grained
history (minutes are rolled up into PostgreSQL).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis
from django.conf import settings

from appliance.observability.scraper import Sample
from appliance.observability.stats import Traffic

FINE_RETENTION_S = 900
NODE_SAMPLE_TTL_S = 3600
_TICK = "lb:obs:tick:"
_NODE = "lb:obs:node:"
_LAST_TICK = "lb:obs:last-tick"
SCRAPES = "lb:obs:scrapes"
CELERY_TASKS = "lb:obs:celery"
SCRAPE_LOCK = "lb:obs:scrape-lock"


@functools.cache
def client() -> redis.Redis:
    """One client (and connection pool) per process; redis-py resets the pool in forked children."""
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
    )


@dataclass
class StoredTick:
    """One scope's part of one scrape round."""

    t: float
    dt: float
    traffic: Traffic
    servers: dict[str, Traffic] = field(default_factory=dict)

    def to_json(self) -> str:
        servers = {address: traffic.to_dict() for address, traffic in sorted(self.servers.items())}
        return json.dumps({"t": self.t, "dt": self.dt, "traffic": self.traffic.to_dict(), "servers": servers})

    @classmethod
    def from_json(cls, text: str) -> StoredTick:
        data = json.loads(text)
        servers = {a: Traffic.from_dict(t) for a, t in data.get("servers", {}).items()}
        return cls(float(data["t"]), float(data["dt"]), Traffic.from_dict(data["traffic"]), servers)


def previous_sample(conn: redis.Redis, node: str) -> Sample | None:
    raw = conn.get(_NODE + node)
    return Sample.from_dict(json.loads(str(raw))) if raw else None


def save_sample(conn: redis.Redis, node: str, sample: Sample) -> None:
    conn.set(_NODE + node, json.dumps(sample.to_dict()), ex=NODE_SAMPLE_TTL_S)


def swap_last_tick(conn: redis.Redis, now: float) -> float | None:
    """Record `now` as the latest tick; returns the previous one (None on the first tick)."""
    previous = conn.getset(_LAST_TICK, repr(now))
    return float(str(previous)) if previous else None


def write_ticks(conn: redis.Redis, ticks: dict[str, StoredTick]) -> None:
    pipe = conn.pipeline(transaction=False)
    for scope, tick in ticks.items():
        key = _TICK + scope
        pipe.zadd(key, {tick.to_json(): tick.t})
        pipe.zremrangebyscore(key, "-inf", tick.t - FINE_RETENTION_S)
        pipe.expire(key, FINE_RETENTION_S + 60)  # scopes without traffic disappear on their own
    pipe.execute()


def read_ticks(conn: redis.Redis, scope: str, since: float, until: float) -> list[StoredTick]:
    """Ticks of `scope` with since ≤ t < until, oldest first."""
    members = conn.zrangebyscore(_TICK + scope, since, f"({until}")
    return [StoredTick.from_json(str(m)) for m in members]


def scopes(conn: redis.Redis) -> Iterator[str]:
    for key in conn.scan_iter(match=_TICK + "*", count=500):
        yield str(key)[len(_TICK) :]


def count_scrape(conn: redis.Redis, node: str, ok: bool) -> None:
    conn.hincrby(SCRAPES, f"{node}|{'ok' if ok else 'failed'}", 1)


def counts(conn: redis.Redis, key: str) -> dict[tuple[str, str], int]:
    """A "<name>|<outcome>" → n hash as {(name, outcome): n}."""
    out = {}
    for field_name, value in conn.hgetall(key).items():
        name, _, outcome = str(field_name).rpartition("|")
        out[(name, outcome)] = int(value)
    return out
