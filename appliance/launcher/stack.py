"""The whole local stack in dependency order, started piece by piece and stopped in reverse.

`make run` starts everything; test fixtures start only the pieces a test needs (PostgreSQL alone for
model tests, the data plane and workers for integration tests).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from appliance.launcher import services as svc
from appliance.launcher.config import StackConfig


class Stack:
    def __init__(self, cfg: StackConfig, log: Callable[[str], None] | None = None) -> None:
        self.cfg = cfg
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.running: list[object] = []
        self.nodes: list[svc.NginxNode] = []
        self.payments: list[svc.PaymentReplica] = []
        self.postgres: svc.Postgres | None = None

    def _start(self, service: object, label: str) -> None:
        self.log(f"starting {label} ...")
        service.start()  # type: ignore[attr-defined]
        self.running.append(service)
        self.log(f"  {label} ready")

    def start_infra(self) -> None:
        """PostgreSQL (+ roles and databases), Redis, the S3 server, migrations, buckets, admin."""
        self.cfg.state_dir.mkdir(parents=True, exist_ok=True)
        # Traversable (not listable) by the postgres user, which owns the cluster directory inside.
        self.cfg.state_dir.chmod(0o711)
        for path in ("logs", "run"):
            self.cfg.path(path).mkdir(parents=True, exist_ok=True)
        self.postgres = svc.Postgres(self.cfg)
        self._start(self.postgres, "PostgreSQL")
        self.postgres.ensure_database(self.cfg.db_name, self.cfg.db_user, self.cfg.secret("db-password"))
        self.postgres.ensure_database(
            self.cfg.payment_db_name, "payment", self.cfg.secret("payment-db-password")
        )
        self._start(svc.Redis(self.cfg), "Redis")
        self._start(svc.SeaweedFS(self.cfg), "object storage (SeaweedFS S3)")
        self.log("applying migrations ...")
        svc.manage(self.cfg, "migrate", "--noinput")
        out = svc.manage(self.cfg, "bootstrap")
        if out.strip():
            self.log(out.strip())

    def start_node(self, name: str, bind: str, status_port: int) -> svc.NginxNode:
        node = svc.NginxNode(self.cfg, name, bind, status_port)
        self._start(node, f"nginx data plane ({name})")
        self._start(svc.agent(self.cfg, node), f"node agent ({name})")
        self.nodes.append(node)
        return node

    def start_control(self, web: bool = True, beat: bool = True) -> None:
        self._start(svc.control_worker(self.cfg), "Celery worker")
        if beat:
            self.start_beat()
        if web:
            self.start_web()

    def start_beat(self) -> None:
        self._start(svc.beat(self.cfg), "Celery beat")

    def start_web(self, workers: int = 3) -> str:
        server = svc.Web(self.cfg, workers)
        self._start(server, "web app (gunicorn)")
        return server.url

    def start_payments(self, count: int, ports: list[int] | None = None) -> list[svc.PaymentReplica]:
        """Migrate the payment database, then start `count` replicas (on `ports`, or base port + n)."""
        svc.run(
            [sys.executable, "-m", "django", "migrate", "--noinput"],
            "payment migrations",
            env=svc.payment_env(self.cfg, "migrate"),
            cwd=svc.REPO / "services" / "payment",
        )
        for index in range(1, count + 1):
            replica = svc.PaymentReplica(self.cfg, index, port=ports[index - 1] if ports else None)
            self._start(replica, f"payment replica {index} (:{replica.port})")
            self.payments.append(replica)
        return self.payments

    def start_k8s_watcher(self) -> None:
        """Kubernetes discovery: keeps upstream servers in step with the bound Services' endpoints."""
        self._start(svc.K8sWatcher(self.cfg), "Kubernetes discovery watcher")

    def start_kubesim(self) -> svc.KubeSim:
        """The simulated cluster of the demo; its kubeconfig is written to $LB_STATE_DIR/kubeconfig."""
        sim = svc.KubeSim(self.cfg)
        self._start(sim, f"simulated Kubernetes API (kubesim, :{self.cfg.ports.kubesim})")
        return sim

    def stop(self) -> None:
        while self.running:
            service = self.running.pop()
            try:
                service.stop()  # type: ignore[attr-defined]
            except Exception as exc:  # keep stopping the rest; report what could not be stopped
                self.log(f"could not stop {service}: {exc}")
