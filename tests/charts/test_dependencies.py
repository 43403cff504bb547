"""The single-node overlay's PostgreSQL init script, run against a real PostgreSQL with the files its pod
would mount: it creates the appliance's and the payment service's roles and databases under the names and
passwords of their Secrets, quoted safely, and each role can log in to its own database over TCP."""

from __future__ import annotations

import os
import secrets
import subprocess

import psycopg2
import pytest

from tests.charts.local_pod import LocalPod, relocate
from tests.charts.manifests import find, pod_template

INIT_DIR = "/docker-entrypoint-initdb.d"


def _accounts() -> dict[str, dict[str, str]]:
    """Fresh names for each Secret's database account; a quote in the password proves the quoting."""
    suffix = secrets.token_hex(4)
    return {
        prefix: {
            "db-user": f"charts_{prefix}_{suffix}",
            "db-name": f"charts_{prefix}_{suffix}_db",
            "db-password": f"pw'{secrets.token_urlsafe(12)}",
        }
        for prefix in ("lb", "payment")
    }


@pytest.fixture
def created_accounts(infra):
    accounts = _accounts()
    yield accounts
    for account in accounts.values():
        names = {"db": account["db-name"], "role": account["db-user"]}
        infra.postgres.psql('DROP DATABASE IF EXISTS :"db";', **names)
        infra.postgres.psql('DROP ROLE IF EXISTS :"role";', **names)


def test_the_init_script_creates_each_services_role_and_database(infra, rendered, created_accounts, tmp_path):
    docs = rendered["single-node"]
    spec = pod_template(find(docs, "StatefulSet", "postgresql"))["spec"]
    pod = LocalPod.from_render(docs, spec, tmp_path, {})
    for kind, name in list(pod.objects):
        for prefix, account in created_accounts.items():
            if kind == "Secret" and name.startswith(f"{prefix}-secrets-"):
                pod.objects[(kind, name)] = {**pod.objects[(kind, name)], **account}
    (container,) = spec["containers"]
    paths = pod.mount_paths(container)
    env = pod.environment(container, paths)
    (script,) = paths[INIT_DIR].glob("*.sh")
    local_script = tmp_path / script.name
    local_script.write_text(relocate(script.read_text(), paths))
    cfg = infra.cfg
    run_env = {
        "PATH": os.environ["PATH"],
        "POSTGRES_USER": env["POSTGRES_USER"],
        "PGHOST": str(infra.postgres.sock),
        "PGPORT": str(cfg.ports.postgres),
    }
    subprocess.run(["sh", str(local_script)], env=run_env, check=True, capture_output=True, timeout=60)

    for account in created_accounts.values():
        assert _login(cfg, account) == (account["db-user"], account["db-name"], account["db-user"])


def _login(cfg, account: dict[str, str]) -> tuple[str, str, str]:
    """(current user, current database, its owner) of a TCP login with the Secret's credentials."""
    conn = psycopg2.connect(
        host=cfg.db_host,
        port=cfg.db_port,
        dbname=account["db-name"],
        user=account["db-user"],
        password=account["db-password"],
        connect_timeout=5,
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, current_database(), pg_get_userbyid(datdba) "
                "FROM pg_database WHERE datname = current_database()"
            )
            return cursor.fetchone()
    finally:
        conn.close()
