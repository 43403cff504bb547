"""Business rules of health checking: one cycle checks every due server and records what changed.

A cycle (run by `workers.health.run_cycle`, driven by beat, or called directly):
1. schedules newly managed servers and forgets those whose check was removed (`scheduling.schedule`);
2. claims the due servers (`scheduling.claim_due`) — never checked by two cycles at once;
3. checks them all concurrently (`checker.run_checks`), outside any transaction;
4. records the results in ONE transaction (`recording.record_results`): counters, last result, next due
   time, one `HealthTransition` per status change, and `mark_changed` when a server leaves or rejoins
   rotation (the compile is enqueued after commit and coalesces with other changes);
5. advances slow-start ramps and keeps the fail-open alerts in line with `rotation.plan`.

Killing a worker anywhere leaves nothing half-done: before step 4 commits nothing was written (the lease
expires and another cycle checks again); after it, everything was.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from appliance.health import checker, machine, recording, rotation, scheduling
from appliance.health.choices import AlertKind, HealthStatus
from appliance.health.models import HealthAlert, HealthCheck, HealthState
from appliance.health.scheduling import AUTHOR
from appliance.health.validation import parse_status_set
from appliance.lb import services as lb_services
from appliance.lb.models import Server, Upstream

log = logging.getLogger(__name__)

ALERT_LOCK = 0x4C42_0901  # pg advisory lock key: one alert bookkeeper at a time


@dataclass(frozen=True)
class CycleReport:
    claimed: list[int]  # server ids this cycle checked
    transitions: int
    duration_ms: int


def run_cycle() -> CycleReport:
    started = time.monotonic()
    scheduling.schedule()
    token = uuid.uuid4()
    claimed = scheduling.claim_due(token)
    transitions = 0
    if claimed:
        checks = effective_checks(claimed)
        specs = [check_spec(server, check) for server, check in checks.values()]
        transitions = recording.record_results(token, claimed, checks, checker.run_checks(specs))
    advance_ramps()
    sync_alerts()
    return CycleReport(claimed, transitions, round((time.monotonic() - started) * 1000))


def effective_check(server: Server) -> HealthCheck | None:
    """The server's own check, else its upstream's; None when it has none or it is disabled."""
    check = getattr(server, "health_check", None) or getattr(server.upstream, "health_check", None)
    return check if check is not None and check.enabled else None


def effective_checks(server_ids: list[int]) -> dict[int, tuple[Server, HealthCheck]]:
    servers = Server.objects.filter(pk__in=server_ids).select_related(
        "health_check", "upstream__health_check"
    )
    found = {}
    for server in servers:
        check = effective_check(server)
        if check is not None:
            found[server.pk] = (server, check)
    return found


def check_spec(server: Server, check: HealthCheck) -> checker.CheckSpec:
    return checker.CheckSpec(
        key=server.pk,
        type=check.type,
        host=server.address,
        port=check.port or server.port,
        timeout_s=check.timeout_ms / 1000,
        method=check.method,
        path=check.path,
        headers=tuple(sorted(check.headers.items())),
        expected=check.expected_statuses,
        statuses=parse_status_set(check.expected_statuses),
        body_match=check.body_match,
        body_pattern=check.body_pattern,
        tls_verify=check.tls_verify,
    )


def advance_ramps() -> int:
    """Move every due slow-start ramp one step up; each step is a (coalesced) weight change."""
    now = timezone.now()
    ramps = HealthState.objects.filter(ramp_step__gt=0, next_ramp_at__lte=now)
    if not ramps.exists():  # the common case, without opening a transaction every half second
        return 0
    with transaction.atomic():
        due = list(ramps.select_for_update(skip_locked=True))
        if not due:
            return 0
        for state in due:
            state.ramp_step = machine.next_ramp_step(state.ramp_step)
            ramping = state.ramp_step > 0
            state.next_ramp_at = now + timedelta(seconds=state.ramp_period_s) if ramping else None
        HealthState.objects.bulk_update(due, ["ramp_step", "next_ramp_at"])
        lb_services.mark_changed(f"health: slow start of {len(due)} server(s) advances", AUTHOR)
    return len(due)


def sync_alerts() -> None:
    """Open a fail-open alert for each upstream that fails open, clear those that no longer do."""
    open_alerts = HealthAlert.objects.filter(cleared_at__isnull=True)
    if not (HealthState.objects.filter(status=HealthStatus.UNHEALTHY).exists() or open_alerts.exists()):
        return  # nothing can fail open without an unhealthy server, and nothing is open to clear
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ALERT_LOCK])
            if not cursor.fetchone()[0]:
                return  # another cycle is doing exactly this right now
        failing = failing_open()
        now = timezone.now()
        active = {
            a.upstream_id: a
            for a in HealthAlert.objects.filter(kind=AlertKind.FAIL_OPEN, cleared_at__isnull=True)
        }
        for upstream_id, name in failing.items():
            if upstream_id not in active:
                message = (
                    f"every server of upstream {name} is unhealthy and no backup is usable: "
                    "failing open, traffic keeps going to all of them"
                )
                HealthAlert.objects.create(upstream_id=upstream_id, kind=AlertKind.FAIL_OPEN, message=message)
                log.warning("upstream %s fails open: %s", name, message)
        cleared = [pk for pk in active if pk not in failing]
        if cleared:
            HealthAlert.objects.filter(pk__in=[active[pk].pk for pk in cleared]).update(cleared_at=now)
            log.info("fail-open alert cleared for upstream ids %s", cleared)


def failing_open() -> dict[int, str]:
    """Upstream id → name, for the upstreams whose plan fails open (the compile's own rule)."""
    failing = [pk for pk, group in rotation.members_by_upstream().items() if rotation.plan(group).fail_open]
    return dict(Upstream.objects.filter(pk__in=failing).values_list("pk", "name"))
