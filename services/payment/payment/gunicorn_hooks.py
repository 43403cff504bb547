"""gunicorn server hooks: the instance's runtime directory, per-worker metrics cleanup, and draining.

services/payment/gunicorn.conf.py (which gunicorn reads from its working directory) binds these hooks.
They run in the arbiter, before Django is configured, so this module imports nothing from Django.

Runtime directory: created before the workers fork and exported as `PAYMENT_RUNTIME_DIR` (fault knobs,
drain flag) and `PROMETHEUS_MULTIPROC_DIR` (metrics), so all workers of the instance share them. A restart
starts from a clean state: no leftover knobs, no drain flag, no samples of dead workers.

Draining: on the first SIGTERM the arbiter marks the instance as draining, so `/readyz` answers 503, but
keeps serving for `PAYMENT_DRAIN_SECONDS` (default 2) so that the load balancer's health checks can take
it out of rotation before connections are refused; then gunicorn shuts down as usual (workers finish
their in-flight requests within --graceful-timeout). A second SIGTERM ends the wait at once; SIGINT and
SIGQUIT stop immediately as in stock gunicorn. This replaces `Arbiter.handle_term`, the method gunicorn's
main loop calls for a queued SIGTERM; gunicorn offers no hook at that point.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

from payment.config import env_float
from payment.runtime import METRICS_ENV, RUNTIME_ENV, mark_draining

DRAIN_SECONDS_ENV = "PAYMENT_DRAIN_SECONDS"
# Only these names are ever removed from a runtime directory, so pointing PAYMENT_RUNTIME_DIR at a shared
# directory by mistake cannot delete anything else.
_STATE_FILES = ("faults.json", "draining")

LOGCONFIG: dict[str, Any] = {
    "formatters": {"generic": {"()": "payment.logs.JsonFormatter"}},
    "filters": {"context": {"()": "payment.logs.ContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "filters": ["context"],
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "filters": ["context"],
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        # The application writes its own JSON access line (with route and request id).
        "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
    },
}


def prepare_runtime_dir(instance: str) -> Path:
    """Create (or clean) the runtime directory and export it to the workers through the environment."""
    explicit = os.environ.get(RUNTIME_ENV)
    if explicit:
        path = Path(explicit)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    else:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", instance)[:40]
        path = Path(tempfile.mkdtemp(prefix=f"payment-{safe}-"))
        _remove_at_exit(path, os.getpid())
    for name in _STATE_FILES:
        (path / name).unlink(missing_ok=True)
    for stale in path.glob(".faults-*"):
        stale.unlink(missing_ok=True)
    metrics_dir = path / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    for sample_file in metrics_dir.glob("*.db"):
        sample_file.unlink()
    os.environ[RUNTIME_ENV] = str(path)
    os.environ[METRICS_ENV] = str(metrics_dir)
    return path


def _remove_at_exit(path: Path, owner_pid: int) -> None:
    # atexit rather than gunicorn's on_exit: it also runs when start-up fails (e.g. the port is taken).
    # Forked workers inherit atexit handlers, so only the arbiter that created the directory removes it.
    def remove() -> None:
        if os.getpid() == owner_pid:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)


def install_drain(server: Any, seconds: float) -> None:
    """Make the arbiter's SIGTERM drain for `seconds` before the usual graceful shutdown."""
    deadline_set = threading.Event()

    def handle_term() -> None:
        mark_draining()
        if seconds <= 0 or deadline_set.is_set():
            raise StopIteration  # gunicorn's own SIGTERM handling: graceful shutdown
        deadline_set.set()
        server.log.info("SIGTERM: draining for %.1fs (readiness answers 503), then shutting down", seconds)
        # The timer re-sends SIGTERM to ourselves, which lands here again and takes the branch above.
        timer = threading.Timer(seconds, os.kill, args=(os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()

    server.handle_term = handle_term


def on_starting(server: Any) -> None:
    path = prepare_runtime_dir(os.environ.get("PAYMENT_INSTANCE_ID", "payment"))
    server.log.info("runtime directory %s", path)


def when_ready(server: Any) -> None:
    install_drain(server, env_float(DRAIN_SECONDS_ENV, 2.0, 0.0, 30.0))


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    # Drops the dead worker's live gauges (requests in progress); its counters stay in the sums.
    multiprocess.mark_process_dead(worker.pid)
