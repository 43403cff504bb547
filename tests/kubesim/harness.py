"""Start and stop kubesim from tests: ``with KubeSim.start(tmp_path) as sim: ...``.

The simulator runs as a subprocess (``python -m tests.kubesim``) so its threads, sockets and
replica processes cannot leak into the test process. ``start`` returns only once ``/version``
answers; ``stop`` sends SIGTERM, waits, and then — in case kubesim itself died abruptly — stops
any replica process still listed in its PID file, by PID, after checking that the PID still
belongs to the process kubesim started (same start time).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{message} not reached within {timeout}s")
        time.sleep(interval)


def _spawn(args: list[str], log_path: Path) -> subprocess.Popen:
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.kubesim", *args],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": pythonpath},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _answers_version(url: str, ca_file: str | None) -> bool:
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    try:
        with urllib.request.urlopen(f"{url}/version", timeout=1, context=context) as response:
            return json.load(response)["gitVersion"].endswith("-kubesim")
    except (OSError, ValueError, KeyError):
        return False


class KubeSim:
    """A kubesim subprocess; ``url``, ``kubeconfig_path`` and ``token`` are what clients need."""

    def __init__(self, process: subprocess.Popen, state_dir: Path, token: str, kubeconfig_path: Path):
        self.process = process
        self.state_dir = state_dir
        self.token = token
        self.kubeconfig_path = kubeconfig_path
        self.url = ""
        self.ca_file: str | None = None

    @classmethod
    def start(
        cls,
        state_dir: str | os.PathLike,
        port: int | None = None,
        token: str | None = None,
        name: str = "kubesim",
        rbac: dict | None = None,
        extra_args: tuple[str, ...] = (),
        timeout: float = 20.0,
    ) -> KubeSim:
        """Run kubesim on 127.0.0.1 and wait until it answers. ``rbac`` is a rules document."""
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        token = token or secrets.token_urlsafe(24)
        kubeconfig = state_dir / "kubeconfig"
        args = ["--port", str(port or 0), "--state-dir", str(state_dir), "--token", token]
        args += ["--cluster-name", name, "--kubeconfig-out", str(kubeconfig)]
        if rbac is not None:
            rbac_path = state_dir / "rbac.json"
            rbac_path.write_text(json.dumps(rbac))
            args += ["--rbac-file", str(rbac_path)]
        (state_dir / "kubesim.json").unlink(missing_ok=True)  # its reappearance signals the new start
        process = _spawn([*args, *extra_args], state_dir / "kubesim.log")
        sim = cls(process, state_dir, token, kubeconfig)
        try:
            sim._wait_ready(timeout)
        except BaseException:
            sim.stop()
            raise
        return sim

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        info_path = self.state_dir / "kubesim.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kubesim exited with {self.process.returncode}:\n{self.log_tail()}")
            if info_path.exists():
                info = json.loads(info_path.read_text())
                if _answers_version(info["url"], info.get("caFile")):
                    self.url, self.ca_file = info["url"], info.get("caFile")
                    return
            time.sleep(0.05)
        raise TimeoutError(f"kubesim did not answer /version within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        path = self.state_dir / "kubesim.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._reap_replicas()

    def _reap_replicas(self) -> None:
        pid_file = self.state_dir / "replica-pids.json"
        if not pid_file.exists():
            return
        entries = json.loads(pid_file.read_text())

        def still_ours() -> list[dict]:
            return [e for e in entries if _start_ticks(e["pid"]) == e["startTicks"]]

        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 1.0)):
            for entry in still_ours():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(entry["pid"], sig)
            deadline = time.monotonic() + wait
            while still_ours() and time.monotonic() < deadline:
                time.sleep(0.05)

    def kubeconfig_for(self, token: str) -> Path:
        """A copy of the kubeconfig that authenticates with ``token`` (e.g. an RBAC-limited user)."""
        import yaml  # PyYAML is a kubernetes-client dependency; keep the harness stdlib-only otherwise

        document = yaml.safe_load(self.kubeconfig_path.read_text())
        for user in document["users"]:
            user["user"]["token"] = token
        path = self.state_dir / f"kubeconfig-{hashlib.sha256(token.encode()).hexdigest()[:12]}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(document, handle)
        return path

    def api_client(self, token: str | None = None):
        """An official ``kubernetes`` ApiClient from the written kubeconfig (or one for ``token``)."""
        from kubernetes import config  # imported here so the harness itself needs only the stdlib

        path = self.kubeconfig_for(token) if token else self.kubeconfig_path
        return config.new_client_from_config(config_file=str(path))

    def __enter__(self) -> KubeSim:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
