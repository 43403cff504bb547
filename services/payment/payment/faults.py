"""Fault knobs for demos and tests: added latency, an error rate, and failing readiness.

They exist only when the instance runs with `PAYMENT_FAULTS_ENABLED=1`; otherwise the API refuses to
touch them and `current()` always answers "no faults", whatever a file says.

The knobs must look the same to every gunicorn worker of the instance, so they live in one small JSON
file in the instance's runtime directory (payment.runtime). Writers replace it atomically (write a temporary
file, then rename), so a reader sees either the old or the new state, never half of one. Readers re-parse
it only when the file changes, so the check on every request costs one stat().
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass

from django.conf import settings

from payment.runtime import runtime_dir

FILE_NAME = "faults.json"
MAX_LATENCY_MS = 10_000  # stays well below gunicorn's 30 s worker timeout


@dataclass(frozen=True)
class FaultState:
    """What this instance is told to get wrong, applied to the payment API (never to probes or knobs)."""

    latency_ms: int = 0
    error_rate: float = 0.0
    fail_readiness: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


NO_FAULTS = FaultState()
_cache: tuple[tuple[int, int, int], FaultState] | None = None


def enabled() -> bool:
    return bool(settings.PAYMENT_FAULTS_ENABLED)


def _path() -> str:
    return str(runtime_dir() / FILE_NAME)


def current() -> FaultState:
    global _cache
    if not enabled():
        return NO_FAULTS
    try:
        info = os.stat(_path())
    except FileNotFoundError:
        return NO_FAULTS
    # Every store() renames a new file into place, so the inode changes even when two writes land within
    # one tick of the file-system clock.
    stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
    if _cache is None or _cache[0] != stamp:
        with open(_path()) as handle:
            _cache = (stamp, FaultState(**json.load(handle)))
    return _cache[1]


def store(state: FaultState) -> FaultState:
    fd, tmp = tempfile.mkstemp(dir=runtime_dir(), prefix=".faults-")
    with os.fdopen(fd, "w") as handle:
        json.dump(state.as_dict(), handle)
    os.replace(tmp, _path())
    return state


def clear() -> FaultState:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_path())
    return NO_FAULTS
