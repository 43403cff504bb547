"""Which servers are health-managed, when each is due, and claiming due servers for one cycle.

Claiming is one conditional UPDATE: a worker takes due rows that nobody holds (`claimed_until` empty or
past), stamps them with its own token and a lease, and gets their ids back. Rows another worker holds or
is claiming at that instant are skipped (`FOR UPDATE SKIP LOCKED`, and PostgreSQL re-checks the WHERE
clause on rows changed meanwhile), so two cycles never check the same server; zero rows means someone
else got them. A worker that dies keeps its rows only until the lease ends; its results, if it comes
back late, are discarded because its token no longer matches.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from appliance.health.choices import HealthStatus, Reason
from appliance.health.models import HealthCheck, HealthState, HealthTransition
from appliance.lb import services as lb_services
from appliance.lb.models import Server

log = logging.getLogger(__name__)

AUTHOR = "health-checker"  # author of the config changes health makes
BEAT_PERIOD_S = 0.5  # appliance.celery beat entry "health-cycle"
# A server due within half a beat period is taken now rather than one whole period late.
EARLY_S = BEAT_PERIOD_S / 2
LEASE_MARGIN_S = 5.0  # beyond the longest check timeout: claim, record and commit
CLAIM_LIMIT = 2000  # per cycle; the rest is left to the next cycle (or a parallel worker)

UNMANAGE_FIELDS = [
    "status",
    "consecutive_successes",
    "consecutive_failures",
    "ramp_step",
    "next_check_at",
    "claimed_until",
    "claim_token",
    "next_ramp_at",
    "transition_count",
    "changed_at",
]

_CLAIM_SQL = """
UPDATE {table} SET claimed_until = now() + make_interval(secs => %(lease)s), claim_token = %(token)s
WHERE server_id IN (
    SELECT server_id FROM {table}
    WHERE next_check_at <= now() + make_interval(secs => %(early)s)
      AND (claimed_until IS NULL OR claimed_until < now())
    ORDER BY next_check_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING server_id
"""


def managed_server_ids() -> set[int]:
    """Servers with an enabled effective check (their own, else their upstream's)."""
    own = Q(health_check__enabled=True)
    inherited = Q(health_check__isnull=True, upstream__health_check__enabled=True)
    return set(Server.objects.filter(own | inherited).values_list("pk", flat=True))


def schedule() -> None:
    """Start scheduling newly managed servers and stop scheduling the others."""
    managed = managed_server_ids()
    rows = dict(HealthState.objects.values_list("server_id", "next_check_at"))
    now = timezone.now()
    new = managed - rows.keys()
    if new:
        HealthState.objects.bulk_create(
            [HealthState(server_id=pk, next_check_at=now) for pk in sorted(new)], ignore_conflicts=True
        )
    resumed = [pk for pk in managed & rows.keys() if rows[pk] is None]
    if resumed:
        HealthState.objects.filter(server_id__in=resumed, next_check_at__isnull=True).update(
            next_check_at=now
        )
    stopped = [pk for pk, due in rows.items() if due is not None and pk not in managed]
    if stopped:
        unmanage(stopped)


def unmanage(server_ids: list[int]) -> None:
    """Forget the health of servers whose check was removed or disabled: back to unknown (in rotation)."""
    now = timezone.now()
    with transaction.atomic():
        states = list(
            HealthState.objects.select_for_update(skip_locked=True).filter(
                server_id__in=server_ids, next_check_at__isnull=False
            )
        )
        transitions, was_out = [], False
        for s in states:
            was_out = was_out or s.status == HealthStatus.UNHEALTHY
            if s.status != HealthStatus.UNKNOWN:
                s.transition_count, s.changed_at = s.transition_count + 1, now
                transitions.append(
                    HealthTransition(
                        server_id=s.server_id,
                        seq=s.transition_count,
                        at=now,
                        from_status=s.status,
                        to_status=HealthStatus.UNKNOWN,
                        reason=Reason.CHECK_REMOVED,
                        detail="the server's health check was removed or disabled",
                    )
                )
            s.status = HealthStatus.UNKNOWN
            s.consecutive_successes = s.consecutive_failures = s.ramp_step = 0
            s.next_check_at = s.claimed_until = s.claim_token = s.next_ramp_at = None
        HealthState.objects.bulk_update(states, UNMANAGE_FIELDS)
        HealthTransition.objects.bulk_create(transitions)
        if was_out:
            lb_services.mark_changed("health: checks removed, servers rejoin rotation", AUTHOR)


def lease_seconds() -> float:
    longest = HealthCheck.objects.filter(enabled=True).aggregate(longest=Max("timeout_ms"))["longest"]
    return (longest or 0) / 1000 + LEASE_MARGIN_S


def claim_due(token: uuid.UUID, limit: int = CLAIM_LIMIT) -> list[int]:
    """Claim the due, unclaimed servers for this cycle; returns their ids (possibly none)."""
    params = {"lease": lease_seconds(), "early": EARLY_S, "limit": limit, "token": str(token)}
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL.format(table=HealthState._meta.db_table), params)
        return sorted(row[0] for row in cursor.fetchall())


def next_due(previous: datetime | None, interval_s: int, now: datetime) -> datetime:
    """Keep a fixed cadence from the previous due time, so beat jitter does not stretch the interval."""
    interval = timedelta(seconds=interval_s)
    due = (previous or now) + interval
    return due if due > now else now + interval
