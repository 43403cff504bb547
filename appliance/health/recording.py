"""Recording one cycle's results: the state machine applied, transitions written, rotation changes marked.

Everything for the rows a cycle still holds is written in ONE transaction: counters, last result, next
due time, one `HealthTransition` per status change (numbered per server), and `mark_changed` when a
server leaves or rejoins rotation, so the revision that takes it out (or back) is compiled exactly when
the transition is committed. States are written with one `UPDATE ... FROM (VALUES ...)`: Django's
`bulk_update` builds a CASE per field and row, which costs seconds for a few hundred servers.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values

from appliance.health import checker, machine, scheduling
from appliance.health.choices import HealthStatus
from appliance.health.models import HealthCheck, HealthState, HealthTransition
from appliance.health.scheduling import AUTHOR
from appliance.lb import services as lb_services
from appliance.lb.models import Server

log = logging.getLogger(__name__)

_WRITE_SQL = """
UPDATE {table} AS s SET
    status = v.status, consecutive_successes = v.successes, consecutive_failures = v.failures,
    last_checked_at = v.checked_at, last_result = v.result, last_detail = v.detail,
    last_status_code = v.code, last_latency_ms = v.latency, changed_at = v.changed_at,
    transition_count = v.transitions, next_check_at = v.next_check_at, ramp_step = v.ramp_step,
    ramp_period_s = v.ramp_period_s, next_ramp_at = v.next_ramp_at, claimed_until = NULL, claim_token = NULL
FROM (VALUES %s) AS v(
    server_id, status, successes, failures, checked_at, result, detail, code, latency, changed_at,
    transitions, next_check_at, ramp_step, ramp_period_s, next_ramp_at
)
WHERE s.server_id = v.server_id
"""
_WRITE_ROW = (
    "(%s::bigint, %s, %s::int, %s::int, %s::timestamptz, %s, %s, %s::smallint, %s::int, %s::timestamptz,"
    " %s::int, %s::timestamptz, %s::smallint, %s::float8, %s::timestamptz)"
)


def record_results(
    token: uuid.UUID,
    claimed: list[int],
    checks: dict[int, tuple[Server, HealthCheck]],
    results: list[checker.CheckResult],
) -> int:
    """Write the results of the rows this cycle still holds, atomically; returns the transitions made.

    A server leaving or rejoining rotation marks desired state changed in the same transaction, so the
    revision that takes it out (or back) is compiled exactly when the transition is committed.
    """
    by_server = {r.key: r for r in results}
    now = timezone.now()
    with transaction.atomic():
        states = list(
            HealthState.objects.select_for_update().filter(server_id__in=claimed, claim_token=token)
        )
        transitions = []
        for state in states:
            state.claimed_until = state.claim_token = None
            if state.server_id in by_server:
                check = checks[state.server_id][1]
                transition = apply_result(state, check, by_server[state.server_id], now)
                if transition is not None:
                    transitions.append(transition)
        write_states(states)
        HealthTransition.objects.bulk_create(transitions)
        lines = [describe(checks[t.server_id][0], t) for t in transitions]
        moved = [line for t, line in zip(transitions, lines, strict=True) if leaves_or_rejoins(t)]
        if moved:
            lb_services.mark_changed("\n".join(f"health: {line}" for line in moved), AUTHOR)
    for t, line in zip(transitions, lines, strict=True):
        log.log(logging.WARNING if t.to_status == HealthStatus.UNHEALTHY else logging.INFO, "%s", line)
    return len(transitions)


def leaves_or_rejoins(transition: HealthTransition) -> bool:
    return HealthStatus.UNHEALTHY in (transition.from_status, transition.to_status)


def describe(server: Server, transition: HealthTransition) -> str:
    return (
        f"server {server.upstream.name}/{server} {transition.from_status} -> {transition.to_status} "
        f"({transition.detail or transition.reason})"
    )


def apply_result(
    state: HealthState, check: HealthCheck, result: checker.CheckResult, now: datetime
) -> HealthTransition | None:
    """One result into the state machine; returns the transition to record, if the status changed."""
    before = state.status
    after = machine.step(
        machine.Counters(before, state.consecutive_successes, state.consecutive_failures),
        result.ok,
        check.rise,
        check.fall,
    )
    state.status = after.status
    state.consecutive_successes, state.consecutive_failures = after.successes, after.failures
    state.last_checked_at, state.last_result, state.last_detail = now, result.reason, result.detail
    state.last_status_code, state.last_latency_ms = result.status_code, result.latency_ms
    state.next_check_at = scheduling.next_due(state.next_check_at, check.interval_s, now)
    if after.status == before:
        return None
    if after.status == HealthStatus.UNHEALTHY:
        state.ramp_step, state.next_ramp_at = 0, None
    elif machine.starts_ramp(before, after.status, check.slow_start_s):
        state.ramp_step, state.ramp_period_s = 1, machine.ramp_period_s(check.slow_start_s)
        state.next_ramp_at = now + timedelta(seconds=state.ramp_period_s)
    state.transition_count += 1
    state.changed_at = now
    return HealthTransition(
        server_id=state.server_id,
        seq=state.transition_count,
        at=now,
        from_status=before,
        to_status=after.status,
        reason=result.reason,
        detail=result.detail,
        status_code=result.status_code,
    )


def write_states(states: list[HealthState]) -> None:
    """Store the result fields of `states` and release their claims, in one statement."""
    rows = [
        (
            s.server_id,
            s.status,
            s.consecutive_successes,
            s.consecutive_failures,
            s.last_checked_at,
            s.last_result,
            s.last_detail,
            s.last_status_code,
            s.last_latency_ms,
            s.changed_at,
            s.transition_count,
            s.next_check_at,
            s.ramp_step,
            s.ramp_period_s,
            s.next_ramp_at,
        )
        for s in states
    ]
    if not rows:
        return
    with connection.cursor() as cursor:
        sql = _WRITE_SQL.format(table=HealthState._meta.db_table)
        execute_values(cursor.cursor, sql, rows, template=_WRITE_ROW, page_size=1000)
