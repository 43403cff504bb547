"""Applies a compiled revision to this node's nginx: stage, test, swap, reload, verify, roll back.

The one module (with `process`) that has side effects. The sequence, under a per-prefix lock:

1. skip if the same revision with the same checksum is already live (no reload);
2. stage compiled files + node files into `revisions/<n>/` and run `nginx -t` on them;
3. swap the `current` symlink atomically and SIGHUP the master;
4. verify: poll the status listener on fresh connections until `/revision` says n, watching the
   error log for what the master reports while it re-reads the config (`[emerg]` lines: a port
   already taken, a host name that no longer resolves...);
5. on any failure, point `current` back, reload back, and report nginx's own words.

A revision with the same checksum but a new number is applied normally: only node/status.conf
differs, but publishing the new number on `/revision` takes a reload. That happens on a
re-apply or rollback, which is rare.

If nginx is not running, a tested revision still becomes current (ok, reloaded=False): it is
what the next start loads.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nginx import process, staging, tls
from nginx.compiler import checksum_files, render_node_files
from nginx.model import NodeParams

_LISTEN_INCLUDE_RE = re.compile(r"^\s*include node/listen/([0-9]{1,5})(?:-default)?\.conf;$", re.M)
_PROBLEM_RE = re.compile(r"\[(emerg|alert|crit)\]")


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What happened on this node; `message` carries nginx's output on failure."""

    ok: bool
    revision: int
    reloaded: bool
    message: str
    duration_s: float = 0.0


class ApplyFailed(Exception):
    """Internal: a step failed and the node is (or has been put) back where it was."""


class NodeApplier:
    """Applies compiled revisions to the nginx running from one prefix on this node."""

    def __init__(
        self,
        prefix: Path,
        params: NodeParams,
        nginx_bin: str = process.NGINX_BIN,
        verify_timeout_s: float = 5.0,
        lock_timeout_s: float = 60.0,
        keep_revisions: int = staging.KEEP_REVISIONS,
    ) -> None:
        self.prefix = Path(prefix)
        self.params = params
        self.nginx_bin = nginx_bin
        self.verify_timeout_s = verify_timeout_s
        self.lock_timeout_s = lock_timeout_s
        self.keep_revisions = keep_revisions

    def live(self) -> tuple[int, str] | None:
        """(revision, checksum) that `current` points to, or None before bootstrap."""
        return staging.live(self.prefix)

    def apply(
        self,
        revision: int,
        compiled_files: Mapping[str, str],
        checksum: str,
        listen_ports: Sequence[int] | None = None,
        secret_files: Mapping[str, bytes] | None = None,
    ) -> ApplyResult:
        """Make `revision` the running config; never raises for nginx or input problems.

        `listen_ports` defaults to the ports the compiled sites include listen snippets for.
        `secret_files` (certificate chains and keys) are staged beside the compiled files, root-only.
        """
        started = time.monotonic()
        try:
            with staging.apply_lock(self.prefix, self.lock_timeout_s):
                ok, reloaded, message = self._apply_locked(
                    revision, compiled_files, checksum, listen_ports, secret_files or {}
                )
        except (ApplyFailed, ValueError, OSError, subprocess.SubprocessError) as exc:
            ok, reloaded, message = False, False, str(exc)
        return ApplyResult(ok, revision, reloaded, message, round(time.monotonic() - started, 3))

    def _apply_locked(
        self,
        revision: int,
        files: Mapping[str, str],
        checksum: str,
        listen_ports: Sequence[int] | None,
        secret_files: Mapping[str, bytes],
    ) -> tuple[bool, bool, str]:
        if checksum_files(files) != checksum:
            raise ApplyFailed("checksum does not match the compiled files; refusing to apply")
        current = staging.live(self.prefix)
        if current == (revision, checksum):
            return True, False, f"revision {revision} is already live"
        if current is not None and current[0] == revision:
            raise ApplyFailed(
                f"revision {revision} is live with a different checksum; revisions are immutable"
            )
        warnings = self._stage_and_test(revision, files, checksum, listen_ports, secret_files)
        previous = staging.current_target(self.prefix)
        staging.point_current(self.prefix, f"{staging.REVISIONS}/{revision}")
        try:
            reloaded = self._go_live(previous, revision)
        except OSError as exc:
            # Unexpected (the master vanished mid-apply...): never leave an unverified `current`.
            staging.point_current(self.prefix, previous)
            raise ApplyFailed(f"apply interrupted, previous revision restored as current: {exc}") from exc
        staging.prune(self.prefix, self.keep_revisions)
        if not reloaded:
            return True, False, f"nginx is not running; revision {revision} loads at the next start{warnings}"
        return True, True, f"revision {revision} is live{warnings}"

    def _stage_and_test(
        self,
        revision: int,
        files: Mapping[str, str],
        checksum: str,
        listen_ports: Sequence[int] | None,
        secret_files: Mapping[str, bytes],
    ) -> str:
        """Stage compiled + node files and run `nginx -t`; returns nginx's warnings, raises if refused."""
        ports = tuple(listen_ports) if listen_ports is not None else ports_of(files)
        node_files = render_node_files(self.params, revision, ports)
        node_files.update(tls.render_node_files(self.params, tls.https_ports_of(files)))
        staging.stage_revision(self.prefix, revision, {**files, **node_files}, checksum, secret_files)
        passed, output = process.check_config(self.prefix, revision, self.nginx_bin)
        if not passed:
            staging.remove_revision(self.prefix, revision)
            raise ApplyFailed(f"nginx -t rejected revision {revision}:\n{output}")
        return f"\nnginx -t warnings:\n{output}" if output else ""

    def _go_live(self, previous: str | None, revision: int) -> bool:
        """Reload onto the new `current` and verify; rolls back and raises on failure."""
        master = process.master_pid(self.prefix)
        if master is None:
            return False
        problem = self._reload_and_verify(master, revision)
        if problem is not None:
            raise ApplyFailed(self._roll_back(previous, problem))
        return True

    def _reload_and_verify(self, master: int, revision: int) -> str | None:
        """SIGHUP, then wait for `/revision` to say `revision`; a problem description, else None."""
        log = self.prefix / process.ERROR_LOG
        offset = log.stat().st_size if log.exists() else 0
        os.kill(master, signal.SIGHUP)
        deadline = time.monotonic() + self.verify_timeout_s
        while time.monotonic() < deadline:
            problems = _problems_since(log, offset, master)
            if problems:
                # The master may still be retrying (bind() is retried 5 times, 500 ms apart);
                # let it finish so the rollback reload is not folded into this failed one.
                _wait_for_quiet_log(log, quiet_s=0.7, limit_s=4.0)
                return "nginx refused the configuration on reload:\n" + "\n".join(
                    _problems_since(log, offset, master)
                )
            if process.status_get(self.params, "/revision", timeout_s=0.5) == f"{revision}\n":
                return None
            time.sleep(0.05)
        return f"revision {revision} was not live {self.verify_timeout_s} s after the reload"

    def _roll_back(self, previous: str | None, problem: str) -> str:
        staging.point_current(self.prefix, previous)
        master = process.master_pid(self.prefix)
        if previous is None or master is None:
            return f"{problem}\nrolled back: no previous revision was running"
        back = int(previous.rsplit("/", 1)[-1])
        again = self._reload_and_verify(master, back)
        status = f"rolled back to revision {back}" if again is None else f"ROLLBACK FAILED: {again}"
        return f"{problem}\n{status}"


def ports_of(files: Mapping[str, str]) -> tuple[int, ...]:
    """The listen ports compiled sites include snippets for (`include node/listen/<port>*.conf`)."""
    ports = {int(p) for text in files.values() for p in _LISTEN_INCLUDE_RE.findall(text)}
    return tuple(sorted(ports))


def _problems_since(log: Path, offset: int, master: int) -> list[str]:
    """[emerg]/[alert]/[crit] lines the master wrote after `offset` (workers' request errors aside)."""
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if _PROBLEM_RE.search(line) and f"] {master}#" in line]


def _wait_for_quiet_log(log: Path, quiet_s: float, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    size, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        current = log.stat().st_size if log.exists() else 0
        if current != size:
            size, last_change = current, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s:
            return
        time.sleep(0.05)
