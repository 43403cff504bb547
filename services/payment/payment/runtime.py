"""The per-instance runtime directory that the gunicorn arbiter and all its workers share.

gunicorn runs several worker processes per instance, so state that must look the same to every worker of
one instance (fault knobs, the draining flag, Prometheus' multiprocess files) lives in files under one
directory. The arbiter creates it before forking (payment.gunicorn_hooks) and exports its path as
`PAYMENT_RUNTIME_DIR`; workers inherit the variable. Outside gunicorn (management commands, a dev server)
there is only one process, so a private temporary directory is exactly as shared as it needs to be.

This module imports nothing from Django: the arbiter uses it before Django is configured.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

RUNTIME_ENV = "PAYMENT_RUNTIME_DIR"
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
DRAIN_FLAG = "draining"


def runtime_dir() -> Path:
    raw = os.environ.get(RUNTIME_ENV)
    if raw:
        return Path(raw)
    path = Path(tempfile.mkdtemp(prefix="payment-"))
    os.environ[RUNTIME_ENV] = str(path)
    return path


def is_draining() -> bool:
    return (runtime_dir() / DRAIN_FLAG).exists()


def mark_draining() -> None:
    (runtime_dir() / DRAIN_FLAG).touch()
