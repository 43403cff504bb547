"""Fixtures for the payment-service tests: the real replicas, their PostgreSQL database and the S3 bucket.

The three ordinary replicas come from the session's `payments` fixture (started by the launcher). Tests
that need a special replica (faults enabled, storage unreachable, a SIGTERM) start their own through
`start_replica`, which stops it again at the end of the test module.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import psycopg2
import pytest
from minio import Minio
from psycopg2.extensions import connection as PgConnection

from appliance.launcher.services import PaymentReplica
from appliance.launcher.stack import Stack

StartReplica = Callable[..., PaymentReplica]
WORKERS_PER_REPLICA = 2  # PaymentReplica runs gunicorn with -w 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def payment_db(infra: Stack) -> Iterator[PgConnection]:
    """A direct connection to the service's own database, to count what really got written."""
    conn = _connect(infra)
    conn.autocommit = True
    yield conn
    conn.close()


def _connect(infra: Stack) -> PgConnection:
    cfg = infra.cfg
    return psycopg2.connect(
        host=cfg.db_host,
        port=cfg.db_port,
        dbname=cfg.payment_db_name,
        user="payment",
        password=cfg.secret("payment-db-password"),
        connect_timeout=5,
    )


@pytest.fixture(scope="session")
def count_rows(payment_db: PgConnection) -> Callable[..., int]:
    def count(sql: str, *params: object) -> int:
        with payment_db.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0])

    return count


class DbLock:
    """Holds a lock in the service's database so that concurrent requests are sure to pile up behind it.

    Races are only tested if they really happen: with the lock held, every worker of every replica gets
    stuck at the same point; releasing it lets them all go at once.
    """

    def __init__(self, conn: PgConnection, count_rows: Callable[..., int]) -> None:
        self.conn, self.count_rows = conn, count_rows

    def hold(self, sql: str, *params: object) -> None:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)

    def release_once_waiting(self, waiters: int, timeout: float = 4.0) -> None:
        """Release after `waiters` sessions wait for a lock (below the service's 5 s lock_timeout)."""
        deadline = time.monotonic() + timeout
        try:
            while (waiting := self._waiting()) < waiters:
                assert time.monotonic() < deadline, f"only {waiting} of {waiters} requests reached the lock"
                time.sleep(0.02)
        finally:
            self.conn.rollback()

    def _waiting(self) -> int:
        return self.count_rows(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def db_lock(infra: Stack, count_rows: Callable[..., int]) -> Iterator[DbLock]:
    conn = _connect(infra)
    yield DbLock(conn, count_rows)
    conn.rollback()
    conn.close()


@pytest.fixture(scope="session")
def s3(infra: Stack) -> Minio:
    cfg = infra.cfg
    return Minio(
        cfg.s3_endpoint,
        access_key=cfg.secret("s3-access-key"),
        secret_key=cfg.secret("s3-secret-key"),
        secure=False,
        region=cfg.s3_region,
    )


@pytest.fixture(scope="module")
def start_replica(infra: Stack, payments: list[str]) -> Iterator[StartReplica]:
    """Start extra replicas on free ports (after `payments` has migrated the database); stopped per module."""
    started: list[PaymentReplica] = []

    def start(index: int, faults: bool = False, env: dict[str, str] | None = None) -> PaymentReplica:
        replica = PaymentReplica(infra.cfg, index, port=free_port(), faults=faults)
        # PaymentReplica has no env-override parameter (yet); its Child's env is the final environment.
        replica.child.env.update({"PAYMENT_DRAIN_SECONDS": "0.5", **(env or {})})
        started.append(replica)
        replica.start()
        return replica

    yield start
    for replica in started:
        replica.stop()
