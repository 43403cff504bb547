"""How each local service of the appliance is started, waited for and stopped.

`make run` (appliance.launcher.__main__) and the pytest fixtures (tests/conftest.py) both build on these
classes, so there is exactly one copy of the start-up logic. Each `start()` returns only once the service
answers a real request (a query, a PING, an S3 call, an HTTP probe or a worker's ready signal).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import sys
import urllib.request
from pathlib import Path

from appliance.launcher.config import StackConfig
from appliance.launcher.procs import Child, run

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("LB_PG_BIN", "/usr/lib/postgresql/15/bin"))
NGINX_BIN = os.environ.get("LB_NGINX_BIN", "/usr/sbin/nginx")


def _http_ok(url: str, timeout: float = 1.0) -> bool:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URL we built
        return bool(response.status == 200)


class Postgres:
    """A private PostgreSQL cluster under the state dir, run as the `postgres` OS user when we are root.

    initdb refuses root, and the data directory must be reachable by that user (hence not under /root).
    Local socket connections are trusted because the socket directory is private to the cluster's owner;
    TCP connections need the app role's password.
    """

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.data = cfg.path("postgres", "data")
        self.sock = cfg.path("postgres", "run")
        self.user = "postgres" if os.geteuid() == 0 else None
        self.child = Child(
            "postgresql",
            [
                str(PG_BIN / "postgres"),
                "-D",
                str(self.data),
                "-c",
                f"listen_addresses={cfg.bind}",
                "-p",
                str(cfg.ports.postgres),
                "-c",
                f"unix_socket_directories={self.sock}",
            ],
            cfg.path("logs", "postgresql.log"),
            user=self.user,
            cwd=Path("/"),
        )

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def init(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        for path in (self.data.parent, self.data, self.sock, self.child.log.parent):
            self._own(path)
        run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ],
            "initdb",
            user=self.user,
            cwd=Path("/"),
        )

    def start(self) -> Child:
        self.init()
        self._own(self.sock)
        self.child.log.touch()
        if self.user:
            shutil.chown(self.child.log, self.user)
        self.child.start()
        self.child.wait_ready(lambda: self.psql("SELECT 1;") == "1", 60, "accepting connections")
        return self.child

    def psql(self, sql: str, **variables: str) -> str:
        """Run SQL as the superuser over the private socket; `:'name'` / `:"name"` quote `variables`."""
        argv = [str(PG_BIN / "psql"), "-h", str(self.sock), "-p", str(self.cfg.ports.postgres)]
        argv += ["-U", "postgres", "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1"]
        for name, value in variables.items():
            argv += ["-v", f"{name}={value}"]
        return run(argv, "psql", user=self.user, cwd=Path("/"), stdin=sql).strip()

    def ensure_database(self, name: str, user: str, password: str) -> None:
        """Create (or update) the login role and its database; idempotent."""
        names = {"db": name, "role": user}
        if self.psql("SELECT 1 FROM pg_roles WHERE rolname = :'role';", **names) != "1":
            self.psql('CREATE ROLE :"role" LOGIN CREATEDB;', **names)
        self.psql("""ALTER ROLE :"role" PASSWORD :'password';""", password=password, **names)
        if self.psql("SELECT 1 FROM pg_database WHERE datname = :'db';", **names) != "1":
            self.psql('CREATE DATABASE :"db" OWNER :"role";', **names)

    def stop(self) -> None:
        self.child.stop(signal.SIGINT, 30)  # SIGINT = PostgreSQL's "fast" shutdown


class Redis:
    """The Celery broker: loopback only, password-protected, no persistence (all state is in PostgreSQL)."""

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        data = cfg.path("redis")
        conf = [
            f"bind {cfg.bind}",
            f"port {cfg.ports.redis}",
            "save ''",
            "appendonly no",
            "daemonize no",
            f"dir {data}",
            f"requirepass {cfg.secret('redis-password')}",
            "protected-mode yes",
        ]
        self.conf_path = data / "redis.conf"
        self.conf_text = "\n".join(conf) + "\n"
        self.child = Child("redis", ["redis-server", str(self.conf_path)], cfg.path("logs", "redis.log"))

    def start(self) -> Child:
        self.conf_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.conf_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.conf_text)
        self.child.start()
        self.child.wait_ready(self.ping, 20, "answering PING")
        return self.child

    def ping(self) -> bool:
        import redis

        return bool(redis.Redis.from_url(self.cfg.redis_url, socket_timeout=1).ping())

    def stop(self) -> None:
        self.child.stop()


class SeaweedFS:
    """The embedded S3 server (SeaweedFS `weed server -s3`), every port pinned, telemetry off."""

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.dir = cfg.path("s3")
        p = cfg.ports
        weed = Path(sys.executable).with_name("weed")
        self.child = Child(
            "seaweedfs",
            [
                str(weed),
                "server",
                f"-dir={self.dir}",
                f"-ip={cfg.bind}",
                f"-ip.bind={cfg.bind}",
                f"-master.port={p.weed_master}",
                f"-master.port.grpc={p.weed_master_grpc}",
                f"-volume.port={p.weed_volume}",
                f"-volume.port.grpc={p.weed_volume_grpc}",
                "-filer",
                f"-filer.port={p.weed_filer}",
                f"-filer.port.grpc={p.weed_filer_grpc}",
                "-s3",
                f"-s3.port={p.s3}",
                f"-s3.port.grpc={p.s3_grpc}",
                f"-s3.config={self.dir / 's3.json'}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
                "-master.electionTimeout=1s",
                "-master.volumeSizeLimitMB=256",
                "-volume.max=0",
                "-metricsPort=0",
                "-volume.preStopSeconds=0",
            ],
            cfg.path("logs", "seaweedfs.log"),
        )

    def start(self) -> Child:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        identity = {
            "identities": [
                {
                    "name": "appliance",
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    "credentials": [
                        {
                            "accessKey": self.cfg.secret("s3-access-key"),
                            "secretKey": self.cfg.secret("s3-secret-key"),
                        }
                    ],
                }
            ]
        }
        fd = os.open(self.dir / "s3.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(identity, handle)
        self.child.start()
        self.child.wait_ready(self.probe, 90, "answering S3 ListBuckets")
        return self.child

    def probe(self) -> bool:
        import urllib3
        from minio import Minio

        client = Minio(
            self.cfg.s3_endpoint,
            access_key=self.cfg.secret("s3-access-key"),
            secret_key=self.cfg.secret("s3-secret-key"),
            secure=False,
            region=self.cfg.s3_region,
            http_client=urllib3.PoolManager(timeout=2, retries=False),
        )
        client.list_buckets()
        return True

    def stop(self) -> None:
        self.child.stop(signal.SIGTERM, 20)


def django_env(cfg: StackConfig, **extra: str) -> dict[str, str]:
    """Environment for every Django/Celery child: the stack's state dir plus overrides."""
    return {
        "LB_STATE_DIR": str(cfg.state_dir),
        "DJANGO_SETTINGS_MODULE": "appliance.settings",
        "PYTHONPATH": str(REPO),
        **extra,
    }


def manage(cfg: StackConfig, *args: str) -> str:
    return run(
        [sys.executable, str(REPO / "manage.py"), *args],
        f"manage.py {' '.join(args)}",
        env=django_env(cfg),
        cwd=REPO,
    )


def ready_file(cfg: StackConfig, name: str) -> Path:
    """Celery processes touch this file when they are connected and ready (see appliance.celery)."""
    return cfg.path("run", f"{name}.ready")


class CeleryProcess:
    """A Celery worker or beat; ready once its ready-file appears (written from Celery's own signals)."""

    def __init__(
        self, cfg: StackConfig, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> None:
        self.cfg, self.name = cfg, name
        self.child = Child(
            name,
            [sys.executable, "-m", "celery", "-A", "appliance", *args],
            cfg.path("logs", f"{name}.log"),
            env=django_env(cfg, LB_READY_FILE=str(ready_file(cfg, name)), **(env or {})),
            cwd=REPO,
        )

    def start(self) -> Child:
        marker = ready_file(self.cfg, self.name)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.unlink(missing_ok=True)
        self.child.start()
        self.child.wait_ready(marker.exists, 60, "ready signal")
        return self.child

    def stop(self) -> None:
        self.child.stop(signal.SIGTERM, 30)  # warm shutdown: finish the running task first


def control_worker(cfg: StackConfig) -> CeleryProcess:
    return CeleryProcess(
        cfg,
        "worker",
        [
            "worker",
            "-Q",
            "control",
            "-n",
            "control@%h",
            "-c",
            "2",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
    )


def beat(cfg: StackConfig) -> CeleryProcess:
    return CeleryProcess(
        cfg, "beat", ["beat", "-l", "INFO", "-s", str(cfg.path("run", "celerybeat-schedule"))]
    )


class Web:
    """The Django web app (UI + API) under gunicorn."""

    def __init__(self, cfg: StackConfig, workers: int = 3) -> None:
        self.cfg = cfg
        self.url = f"http://{cfg.bind}:{cfg.ports.web}"
        self.child = Child(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "appliance.wsgi:application",
                "-b",
                f"{cfg.bind}:{cfg.ports.web}",
                "-w",
                str(workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "10",
                # gunicorn 27 otherwise shares one control socket per OS user ($HOME/.gunicorn).
                "--no-control-socket",
            ],
            cfg.path("logs", "web.log"),
            env=django_env(cfg),
            cwd=REPO,
        )

    def start(self) -> Child:
        self.child.start()
        self.child.wait_ready(lambda: _http_ok(self.url + "/healthz"), 60, "GET /healthz")
        return self.child

    def stop(self) -> None:
        self.child.stop()


class NginxNode:
    """One data-plane node: an nginx prefix under the state dir, run in the foreground."""

    def __init__(self, cfg: StackConfig, name: str, bind: str, status_port: int) -> None:
        from nginx.model import NodeParams

        self.cfg, self.name = cfg, name
        self.prefix = cfg.path("nodes", name)
        self.params = NodeParams(name=name, bind_address=bind, status_port=status_port)
        self.status_url = f"http://{bind}:{status_port}"
        from nginx import process

        argv = process.nginx_command(self.prefix, NGINX_BIN, "current/main.conf", "-g", "daemon off;")
        self.child = Child(f"nginx-{name}", argv, cfg.path("logs", f"nginx-{name}.log"))

    def start(self) -> Child:
        from nginx import process

        process.bootstrap(self.prefix, self.params)
        self.child.start()
        self.child.wait_ready(lambda: _http_ok(self.status_url + "/healthz"), 20, "status listener /healthz")
        return self.child

    def stop(self) -> None:
        self.child.stop(signal.SIGQUIT, 15)  # graceful: finish in-flight requests


def agent(cfg: StackConfig, node: NginxNode) -> CeleryProcess:
    """The node agent: applies revisions to its own nginx; serves its own queue and the broadcast."""
    return CeleryProcess(
        cfg,
        f"agent-{node.name}",
        [
            "worker",
            "-Q",
            f"node.{node.name},nodes",
            "-n",
            f"agent@{node.name}",
            "-c",
            "1",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        env={
            "LB_NODE_NAME": node.name,
            "LB_NODE_PREFIX": str(node.prefix),
            "LB_NODE_BIND": node.params.bind_address,
            "LB_STATUS_PORT": str(node.params.status_port),
        },
    )


class PaymentReplica:
    """One replica of the sample payment service (services/payment) under gunicorn."""

    def __init__(
        self,
        cfg: StackConfig,
        index: int,
        port: int | None = None,
        faults: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.cfg, self.index = cfg, index
        self.port = port or cfg.ports.payment_base + index
        self.instance = f"payment-{index}"
        self.url = f"http://{cfg.bind}:{self.port}"
        self.child = Child(
            self.instance,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "payment.wsgi:application",
                "-b",
                f"{cfg.bind}:{self.port}",
                "-w",
                "2",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
            ],
            cfg.path("logs", f"{self.instance}.log"),
            env={**payment_env(cfg, self.instance, faults), **(env or {})},
            cwd=REPO / "services" / "payment",
        )

    def start(self) -> Child:
        self.child.start()
        self.child.wait_ready(lambda: _http_ok(self.url + "/healthz"), 60, "GET /healthz")
        return self.child

    def stop(self) -> None:
        self.child.stop(signal.SIGTERM, 10)


class KubeSim:
    """The demo's simulated Kubernetes API (tests/kubesim, test infrastructure labelled simulated everywhere).

    HTTPS on loopback with a CA of its own; its kubeconfig (admin token) goes to $LB_STATE_DIR/kubeconfig.
    Ready once `/version` answers over TLS; SIGTERM stops it and every replica it runs.
    """

    def __init__(self, cfg: StackConfig) -> None:
        self.dir, self.kubeconfig = cfg.path("kubesim"), cfg.path("kubeconfig")
        argv = [sys.executable, "-m", "tests.kubesim", "--port", str(cfg.ports.kubesim)]
        token = cfg.secret("kubesim-token")  # as one `--token=...` argument: it may start with "-"
        argv += ["--host", "127.0.0.1", "--state-dir", str(self.dir), f"--token={token}"]
        argv += ["--cluster-name", "kubesim", "--kubeconfig-out", str(self.kubeconfig)]
        log = cfg.path("logs", "kubesim.log")
        self.child = Child("kubesim", argv, log, env={"PYTHONPATH": str(REPO)}, cwd=REPO)

    def start(self) -> Child:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.dir / "kubesim.json").unlink(missing_ok=True)  # rewritten by this start, with the URL and CA
        self.child.start()
        self.child.wait_ready(self.answers, 30, "GET /version")
        return self.child

    def answers(self) -> bool:
        import ssl

        info = json.loads((self.dir / "kubesim.json").read_text())
        context = ssl.create_default_context(cafile=info["caFile"])
        url = info["url"] + "/version"
        with urllib.request.urlopen(url, timeout=1, context=context) as response:  # noqa: S310 - kubesim's URL
            return bool(json.load(response)["gitVersion"].endswith("-kubesim"))

    def stop(self) -> None:
        self.child.stop(signal.SIGTERM, 30)


class K8sWatcher(CeleryProcess):
    """The Kubernetes discovery watcher (`manage.py k8s_watch`); same ready-file handshake as Celery's."""

    def __init__(self, cfg: StackConfig) -> None:
        super().__init__(cfg, "k8s-watch", [])
        self.child.argv = [sys.executable, str(REPO / "manage.py"), "k8s_watch"]


def payment_env(cfg: StackConfig, instance: str, faults: bool = False) -> dict[str, str]:
    """The payment service's whole configuration (it has its own settings and its own database)."""
    return {
        "PYTHONPATH": str(REPO / "services" / "payment"),
        "DJANGO_SETTINGS_MODULE": "payment.settings",
        "PAYMENT_INSTANCE_ID": instance,
        "PAYMENT_SECRET_KEY": cfg.secret("payment-secret-key"),
        "PAYMENT_DB_HOST": cfg.db_host,
        "PAYMENT_DB_PORT": str(cfg.db_port),
        "PAYMENT_DB_NAME": cfg.payment_db_name,
        "PAYMENT_DB_USER": "payment",
        "PAYMENT_DB_PASSWORD": cfg.secret("payment-db-password"),
        "PAYMENT_S3_ENDPOINT": cfg.s3_endpoint,
        "PAYMENT_S3_SECURE": "1" if cfg.s3_secure else "0",
        "PAYMENT_S3_ACCESS_KEY": cfg.secret("s3-access-key"),
        "PAYMENT_S3_SECRET_KEY": cfg.secret("s3-secret-key"),
        "PAYMENT_S3_REGION": cfg.s3_region,
        "PAYMENT_RECEIPTS_BUCKET": "receipts",
        "PAYMENT_FAULTS_ENABLED": "1" if faults else "0",
    }
