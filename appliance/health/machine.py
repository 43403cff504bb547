"""The per-server health state machine and the slow-start ramp, as pure functions.

unknown ──rise successes──► healthy ──fall failures──► unhealthy ──rise successes──► healthy ...
unknown ──fall failures───► unhealthy

Counters count consecutive results and reset on the opposite result. Only `unhealthy` takes a server
out of rotation: `unknown` (never checked, or its check was removed) stays in, so enabling checks on a
live pool never takes it down before the first results arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.health.choices import HealthStatus

# Slow start: after a recovery the weight goes 1/4 → 2/4 → 3/4 → full in equal steps over slow_start_s.
RAMP_STEPS = 4
MAX_WEIGHT = 1000  # nginx.validation.BOUNDS["weight"]


@dataclass(frozen=True, slots=True)
class Counters:
    status: str
    successes: int
    failures: int


def step(current: Counters, ok: bool, rise: int, fall: int) -> Counters:
    """The state after one more check result."""
    if ok:
        successes, failures = current.successes + 1, 0
        healthy = current.status == HealthStatus.HEALTHY or successes >= rise
        return Counters(str(HealthStatus.HEALTHY) if healthy else current.status, successes, failures)
    successes, failures = 0, current.failures + 1
    unhealthy = current.status == HealthStatus.UNHEALTHY or failures >= fall
    return Counters(str(HealthStatus.UNHEALTHY) if unhealthy else current.status, successes, failures)


def starts_ramp(before: str, after: str, slow_start_s: int) -> bool:
    """A ramp starts only on recovery (unhealthy → healthy), not on a first healthy result."""
    return slow_start_s > 0 and before == HealthStatus.UNHEALTHY and after == HealthStatus.HEALTHY


def ramp_period_s(slow_start_s: int) -> float:
    """Seconds between ramp steps: full weight is reached `slow_start_s` after the recovery."""
    return slow_start_s / (RAMP_STEPS - 1)


def next_ramp_step(current: int) -> int:
    """The step after `current`; 0 means the ramp is over (full weight)."""
    following = current + 1
    return following if following < RAMP_STEPS else 0


def ramped_weights(weights: dict[str, int], ramping: dict[str, int]) -> dict[str, int]:
    """Weights while some members ramp after a recovery.

    The others are multiplied by RAMP_STEPS and a ramping member by its step, so it gets step/RAMP_STEPS
    of its share. nginx weights are integers: scaling the others up is what makes a ramp visible even when
    every weight is 1. Capped at nginx's maximum weight.
    """
    if not ramping:
        return dict(weights)
    return {key: min(MAX_WEIGHT, weight * ramping.get(key, RAMP_STEPS)) for key, weight in weights.items()}
