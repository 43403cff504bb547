"""The Kubernetes HPA algorithm, pure: a recommendation from one metric, then stabilization, step and bounds.

Mirrors kube-controller-manager (`replica_calculator.go`, `normalizeDesiredReplicasWithBehaviors`):

- recommendation: usage ratio = observed / target; within `TOLERANCE` (10 %) of 1 the count stays as it is,
  otherwise ceil(ratio x ready replicas);
- stabilization over the recommendations of the recent past (the current one included): scale up only to
  the *lowest* recommendation of the scale-up window, down only to the *highest* of the scale-down window,
  so one spike or one quiet moment does not move the count;
- at most `max_step` replicas added or removed per decision, then clamped to [min, max].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

TOLERANCE = 0.1


@dataclass(frozen=True)
class Limits:
    min_replicas: int
    max_replicas: int
    max_step: int


@dataclass(frozen=True)
class Step:
    replicas: int
    reason: str


def recommend(current: int, ready: int, observed: float, target: float) -> Step:
    """The raw recommendation for this moment (what the stabilization windows remember)."""
    ratio = observed / target
    if abs(ratio - 1.0) <= TOLERANCE:
        return Step(current, f"{observed:.3g} is within 10 % of the target {target:g}")
    # Rounded first so that float noise (2.0000000001) does not add a replica.
    replicas = math.ceil(round(ratio * ready, 9))
    return Step(replicas, f"{observed:.3g} against target {target:g}: ratio {ratio:.2f} x {ready} ready")


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def normalize(
    current: int,
    recommendation: int,
    up_window: Sequence[int],
    down_window: Sequence[int],
    limits: Limits,
) -> Step:
    """The replica count to set now, and what (if anything) held the recommendation back."""
    lowest_recent = min([recommendation, *up_window])
    highest_recent = max([recommendation, *down_window])
    notes = []
    if lowest_recent > current:
        stabilized = lowest_recent
    elif highest_recent < current:
        stabilized = highest_recent
    else:
        stabilized = current
    if stabilized != recommendation:
        window = "scale-up" if recommendation > current else "scale-down"
        notes.append(f"{window} stabilization window holds {stabilized} (recommended {recommendation})")
    stepped = _clamp(stabilized, current - limits.max_step, current + limits.max_step)
    if stepped != stabilized:
        notes.append(f"max step {limits.max_step}")
    bounded = _clamp(stepped, limits.min_replicas, limits.max_replicas)
    if bounded != stepped:
        notes.append(f"bounded to {limits.min_replicas}..{limits.max_replicas}")
    return Step(bounded, "; ".join(notes))
