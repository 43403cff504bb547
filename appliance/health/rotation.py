"""Which servers health takes out of rotation, and when an upstream fails open instead.

Rule, per upstream, over the servers whose administrative state is `enabled`:
- an `unhealthy` server is rendered `down`, as long as at least one other enabled server (primary or
  backup) is not unhealthy. nginx sends to backups only when every primary is down, so a healthy backup
  takes over when every primary is unhealthy;
- if every enabled server is unhealthy (and so there is no usable backup), the upstream **fails open**:
  all of them stay in rotation. A health check can be wrong (a broken health endpoint, a network
  partition between the checker and the backends) while the backends still serve; sending to them gives
  clients a chance, where `down` everywhere would answer 502 to everything. nginx's passive failover still
  skips members that refuse connections. The condition is raised as a `HealthAlert` and logged.

The compile (`appliance.lb.snapshot`) and the alert bookkeeping both call `plan`, so what nginx does and
what the operator is told cannot disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from appliance.health.choices import HealthStatus
from appliance.health.machine import ramped_weights
from appliance.health.models import HealthState
from appliance.lb.models import Server
from nginx.model import ServerSpec


@dataclass(frozen=True, slots=True)
class MemberHealth:
    key: str
    enabled: bool  # administrative state is `enabled`
    unhealthy: bool
    ramp_step: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    out: frozenset[str]  # taken out of rotation by health
    fail_open: bool
    ramping: dict[str, int]  # key → ramp step, for members in rotation that ramp up after a recovery


def plan(members: Iterable[MemberHealth]) -> Plan:
    candidates = [m for m in members if m.enabled]
    unhealthy = frozenset(m.key for m in candidates if m.unhealthy)
    fail_open = bool(candidates) and len(unhealthy) == len(candidates)
    out = frozenset() if fail_open else unhealthy
    ramping = {m.key: m.ramp_step for m in candidates if m.ramp_step and m.key not in out and not fail_open}
    return Plan(out=out, fail_open=fail_open, ramping=ramping)


def members_by_upstream(**server_filter: object) -> dict[int, list[MemberHealth]]:
    """Health of the servers that the compile does not quarantine, grouped by upstream id."""
    rows = Server.objects.filter(quarantine_reason="", **server_filter).values_list(
        "pk", "upstream_id", "state", "health__status", "health__ramp_step"
    )
    members: dict[int, list[MemberHealth]] = {}
    for pk, upstream_id, state, status, ramp in rows:
        member = MemberHealth(str(pk), state == "enabled", status == HealthStatus.UNHEALTHY, ramp or 0)
        members.setdefault(upstream_id, []).append(member)
    return members


def upstream_plan(upstream_id: int) -> Plan:
    return plan(members_by_upstream(upstream_id=upstream_id).get(upstream_id, []))


class Rotation:
    """Health as seen by one compile: loaded once, applied to every upstream's server specs."""

    def __init__(self, states: dict[str, tuple[str, int]]) -> None:
        self.states = states  # server key → (status, ramp step); only servers that matter

    @classmethod
    def load(cls) -> Rotation:
        rows = HealthState.objects.filter(Q(status=HealthStatus.UNHEALTHY) | Q(ramp_step__gt=0)).values_list(
            "server_id", "status", "ramp_step"
        )
        return cls({str(pk): (status, ramp) for pk, status, ramp in rows})

    def member(self, spec: ServerSpec) -> MemberHealth:
        status, ramp = self.states.get(spec.key, (HealthStatus.UNKNOWN, 0))
        return MemberHealth(spec.key, spec.state == "enabled", status == HealthStatus.UNHEALTHY, ramp)

    def apply(self, specs: list[ServerSpec]) -> list[ServerSpec]:
        """The specs with health applied: unhealthy members `disabled` (rendered down), ramp weights."""
        decided = plan(self.member(s) for s in specs)
        weights = ramped_weights({s.key: s.weight for s in specs}, decided.ramping)
        return [
            dataclasses.replace(
                s, state="disabled" if s.key in decided.out else s.state, weight=weights[s.key]
            )
            for s in specs
        ]
