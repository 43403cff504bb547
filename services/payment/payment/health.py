"""Readiness: may this instance take traffic right now? Each dependency is checked for real, quickly.

Not ready when PostgreSQL or the receipt storage does not answer (the service cannot create payments
without either), while the instance drains before shutting down, or when the `fail_readiness` fault knob
is set. Liveness (`/healthz`) deliberately checks none of this: a dependency outage is no reason for an
orchestrator to restart the process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

from payment import faults, runtime, storage


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_storage() -> None:
    storage.ping()


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "object_storage": check_storage}


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, dict[str, str]]
    draining: bool
    failing_by_fault: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.reasons


def run_checks() -> dict[str, dict[str, str]]:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            results[name] = {"status": "down", "error": f"{type(exc).__name__}: {exc}"}
        else:
            results[name] = {"status": "ok"}
    return results


def readiness() -> Readiness:
    checks = run_checks()
    draining = runtime.is_draining()
    failing = faults.current().fail_readiness
    reasons = [f"{name} is down" for name, result in checks.items() if result["status"] != "ok"]
    if draining:
        reasons.append("draining before shutdown")
    if failing:
        reasons.append("fail_readiness fault is set")
    return Readiness(checks, draining, failing, reasons)
