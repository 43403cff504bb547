"""Session fixtures: the real stack (PostgreSQL, Redis, S3, nginx, Celery, web) started by the launcher.

Each fixture starts only its piece, once per session, so a model test pays for PostgreSQL alone. The
tests share the appliance's own database with the workers (no test_ copy): integration tests use
`transactional_db`, whose committed rows the workers can see, and which is emptied after each test.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import pytest
from django.core.management.base import CommandError
from django.core.management.commands import flush

from appliance.launcher.config import StackConfig
from appliance.launcher.stack import Stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    cfg = StackConfig.from_env()
    stack = Stack(cfg, log=lambda _msg: None)
    yield stack
    stack.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Remove the session's state dir (created by tests/settings.py even if no service ever started)."""
    if not os.environ.get("LB_KEEP_TEST_STATE"):  # set it to read the services' logs after a failure
        shutil.rmtree(StackConfig.from_env().state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def infra(stack: Stack) -> Stack:
    stack.start_infra()
    return stack


@pytest.fixture(scope="session")
def django_db_setup(infra: Stack) -> None:
    """The database already exists and is migrated by the launcher; nothing to create."""


def _flush_retrying_deadlocks(self: flush.Command, **options: object) -> None:
    """`transactional_db` empties the tables with one TRUNCATE while the workers keep reading them.

    TRUNCATE takes its exclusive locks table by table, so a worker transaction that reads two tables in
    the other order can deadlock with it; PostgreSQL then cancels one of the two. When it cancels the
    flush, run it again (the worker's transaction has finished by then).
    """
    for attempt in range(5):
        try:
            return _flush_once(self, **options)
        except CommandError as exc:
            database_error = exc.__cause__.__cause__ if exc.__cause__ else None  # Django's, then psycopg2's
            if getattr(database_error, "pgcode", None) != "40P01" or attempt == 4:  # deadlock_detected
                raise
            time.sleep(0.2)


_flush_once = flush.Command.handle
flush.Command.handle = _flush_retrying_deadlocks  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def dataplane(infra: Stack) -> Stack:
    """One nginx node with its agent, plus the control-plane worker and beat."""
    infra.start_node(infra.cfg.node_name, infra.cfg.bind, infra.cfg.ports.status)
    infra.start_control(web=False)
    return infra


@pytest.fixture(scope="session")
def web(dataplane: Stack) -> str:
    return dataplane.start_web(workers=2)


@pytest.fixture(scope="session")
def payments(infra: Stack) -> list[str]:
    """Three payment-service replicas (services/payment) on their own ports; returns their base URLs."""
    from loadtests.harness import free_port

    return [replica.url for replica in infra.start_payments(3, ports=[free_port() for _ in range(3)])]
