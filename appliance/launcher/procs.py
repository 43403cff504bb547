"""Child processes of the launcher: spawn with a log file, wait on real readiness, stop by PID.

Every service the appliance starts goes through `Child`, so start-up failures always say which service
failed and where its log is, and shutdown never touches a process the launcher did not start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class StartError(RuntimeError):
    """A service did not become ready; the message names it and quotes the end of its log."""


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"


class Child:
    """One supervised process: its argv, environment, log file and PID."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.name, self.argv, self.log, self.cwd, self.user = name, list(argv), log, cwd, user
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        # A session of its own: Ctrl-C in the launcher's terminal must not hit the children before the
        # launcher stops them in dependency order.
        self.proc = subprocess.Popen(
            self.argv,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
            user=self.user,
            start_new_session=True,
        )
        handle.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `check` until it is true; fail early and loudly if the process dies."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise StartError(
                    f"{self.name} exited with code {self.proc.returncode} before {what}; "
                    f"log {self.log}:\n{log_tail(self.log)}"
                )
            try:
                if check():
                    return
            except Exception as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        raise StartError(
            f"{self.name} not ready ({what}) after {timeout:.0f}s {last_error}; "
            f"log {self.log}:\n{log_tail(self.log)}"
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        try:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        except ProcessLookupError:
            pass


def run(
    argv: Sequence[str],
    what: str,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
    stdin: str | None = None,
) -> str:
    """Run a one-shot command; raise StartError with its output if it fails."""
    result = subprocess.run(
        list(argv),
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        user=user,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise StartError(f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout
