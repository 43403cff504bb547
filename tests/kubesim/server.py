"""Assembles a running simulator: store, API server, kubelet, kubeconfig and snapshots.

``Simulator`` is what ``python -m tests.kubesim`` runs; tests normally use ``harness.KubeSim``,
which runs this in a subprocess so replica processes and ports are cleaned up with it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import errors
from .api import ApiServer
from .certs import ensure_tls_files
from .kubelet import Kubelet
from .operations import NAMESPACES, Operations
from .rbac import ADMIN_USER, Authorizer
from .resources import GIT_VERSION
from .store import Store

logger = logging.getLogger("kubesim")

INFO_FILE = "kubesim.json"
SNAPSHOT_FILE = "snapshot.json"
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public")


@dataclass
class Settings:
    """Everything ``python -m tests.kubesim`` can be told."""

    state_dir: Path
    token: str
    host: str = "127.0.0.1"
    port: int = 0
    cluster_name: str = "kubesim"
    kubeconfig_out: Path | None = None
    rbac_file: Path | None = None
    event_window: int = 1000
    bookmark_interval: float = 1.0
    max_watch_seconds: float = 1800.0
    persist: bool = True
    tls: bool = True  # kubectl sends tokens only over TLS; plain HTTP is for curl-style debugging


def kubeconfig_document(url: str, token: str, name: str, ca_pem: bytes | None) -> dict:
    user = f"{name}-{ADMIN_USER}"
    cluster: dict = {"server": url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user, "namespace": "default"}}],
        "current-context": name,
    }


def _write_private(path: Path, text: str) -> None:
    # The kubeconfig holds the admin token: create it owner-only rather than chmod afterwards.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


class Simulator:
    """A running kubesim: call ``start()``, later ``stop()``."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.stop_event = threading.Event()
        state_dir = settings.state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        snapshot = state_dir / SNAPSHOT_FILE if settings.persist else None
        self.store = Store(window=settings.event_window, snapshot_path=snapshot)
        self.ops = Operations(self.store)
        self.tls = ensure_tls_files(state_dir / "certs") if settings.tls else None
        context = None
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert, self.tls.key)
        self.http = ApiServer(
            (settings.host, settings.port),
            self.ops,
            Authorizer(settings.token, settings.rbac_file),
            self.stop_event,
            bookmark_interval=settings.bookmark_interval,
            max_watch_seconds=settings.max_watch_seconds,
            ssl_context=context,
        )
        self.kubelet = Kubelet(self.ops, state_dir, self.stop_event)
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return self.http.url

    @property
    def kubeconfig_path(self) -> Path:
        return self.settings.kubeconfig_out or self.settings.state_dir / "kubeconfig"

    def start(self) -> None:
        for name in INITIAL_NAMESPACES:
            try:
                self.ops.create(NAMESPACES, "", {"metadata": {"name": name}})
            except errors.ApiError as exc:
                if exc.reason != "AlreadyExists":  # restored from a snapshot
                    raise
        self._spawn("kubesim-http", lambda: self.http.serve_forever(poll_interval=0.2))
        self._spawn("kubesim-snapshots", self._flush_loop)
        self.kubelet.start()
        ca_pem = self.tls.ca_cert.read_bytes() if self.tls else None
        document = kubeconfig_document(self.url, self.settings.token, self.settings.cluster_name, ca_pem)
        _write_private(self.kubeconfig_path, yaml.safe_dump(document, sort_keys=False))
        info = {
            "url": self.url,
            "pid": os.getpid(),
            "kubeconfig": str(self.kubeconfig_path),
            "caFile": str(self.tls.ca_cert) if self.tls else None,
            "version": GIT_VERSION,
            "simulated": True,
        }
        _write_private(self.settings.state_dir / INFO_FILE, json.dumps(info, indent=2))
        logger.info("kubesim (simulated Kubernetes API %s) serving %s", GIT_VERSION, self.url)

    def _spawn(self, name: str, target) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _flush_loop(self) -> None:
        while not self.stop_event.wait(1.0):
            self.store.flush()

    def stop(self) -> None:
        """Stop serving, stop every replica process, and write the final snapshot."""
        self.stop_event.set()
        self.http.shutdown()
        self.http.server_close()
        self.kubelet.shutdown()
        self.store.flush()
        (self.settings.state_dir / INFO_FILE).unlink(missing_ok=True)
        logger.info("kubesim stopped")
