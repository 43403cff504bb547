"""Control of the node's nginx master process: bootstrap the prefix, start, stop, reload, probe.

nginx runs in the foreground (`daemon off`) as a child of the launcher, which supervises it;
the master pid is also in `<prefix>/logs/nginx.pid`, which is how reloads find it.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import os
import signal
import subprocess
import time
from pathlib import Path

from nginx import staging
from nginx.compiler import compile_config, render_node_files
from nginx.model import NodeParams, Snapshot

NGINX_BIN = "/usr/sbin/nginx"
PID_FILE = "logs/nginx.pid"
ERROR_LOG = "logs/error.log"
STDERR_LOG = "logs/stderr.log"


def bootstrap(prefix: Path, params: NodeParams) -> None:
    """Create the prefix directories and, if no usable revision is current, revision 0 (empty config)."""
    staging.prepare_prefix(prefix)
    if staging.live(prefix) is not None:
        return
    compiled = compile_config(Snapshot())
    files = {**compiled.files, **render_node_files(params, 0, compiled.listen_ports)}
    staging.stage_revision(prefix, 0, files, compiled.checksum)
    staging.point_current(prefix, "revisions/0")


def nginx_command(prefix: Path, nginx_bin: str, config: str, *extra: str) -> list[str]:
    """`nginx -p <prefix>/ -c <config> ...`: the trailing slash matters, nginx appends paths to it."""
    return [nginx_bin, "-p", f"{prefix}/", "-c", config, *extra]


def check_config(
    prefix: Path, revision: int, nginx_bin: str = NGINX_BIN, timeout_s: float = 30
) -> tuple[bool, str]:
    """`nginx -t -q` on a revision staged under `prefix`: (passed, what nginx printed: errors, warnings).

    Raises OSError if nginx cannot run and `subprocess.TimeoutExpired` after `timeout_s`.
    """
    config = f"{staging.REVISIONS}/{revision}/main.conf"
    result = subprocess.run(
        nginx_command(prefix, nginx_bin, config, "-t", "-q"),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return result.returncode == 0, (result.stderr + result.stdout).strip()


def start(
    prefix: Path, params: NodeParams, nginx_bin: str = NGINX_BIN, timeout_s: float = 10.0
) -> subprocess.Popen[bytes]:
    """Start nginx in the foreground on `current/main.conf` and wait for its status listener.

    The child gets its own session so that a Ctrl-C aimed at the launcher does not fast-stop
    nginx behind the launcher's back; the launcher stops it with `stop`. Raises RuntimeError if
    nginx is already running for this prefix or exits/does not answer in time.
    """
    running = master_pid(prefix)
    if running is not None:
        raise RuntimeError(f"nginx is already running for {prefix} (pid {running})")
    with open(prefix / STDERR_LOG, "ab") as stderr:
        proc = subprocess.Popen(
            nginx_command(prefix, nginx_bin, "current/main.conf", "-g", "daemon off;"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with code {proc.returncode}: {_tail(prefix / STDERR_LOG)}")
        if status_get(params, "/healthz") is not None:
            return proc
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"nginx did not answer on its status port within {timeout_s} s")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> int:
    """Graceful stop (SIGQUIT: finish in-flight requests), then SIGTERM, then SIGKILL."""
    for sig, wait_s in ((signal.SIGQUIT, timeout_s), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait_s)
    return proc.wait()


def reload(prefix: Path) -> int:
    """Ask the master to re-read `current/main.conf` (SIGHUP); returns the master pid."""
    pid = master_pid(prefix)
    if pid is None:
        raise RuntimeError(f"nginx is not running for {prefix}")
    os.kill(pid, signal.SIGHUP)
    return pid


def is_running(prefix: Path) -> bool:
    return master_pid(prefix) is not None


def master_pid(prefix: Path) -> int | None:
    """The live nginx master's pid from the pid file, or None.

    Checks /proc as well: a stale pid file may name a recycled pid (so the process title must be
    nginx's "nginx: master process ..."), and a master that exited but was not reaped yet (a
    zombie) still accepts signals without acting on them.
    """
    try:
        pid = int((prefix / PID_FILE).read_text().strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state in ("Z", "X") or not cmdline.startswith(b"nginx: master process"):
        return None
    return pid


def worker_pids(master: int) -> set[int]:
    """Pids of the master's children (workers, and old workers still draining after a reload)."""
    children = Path(f"/proc/{master}/task/{master}/children")
    try:
        return {int(p) for p in children.read_text().split()}
    except OSError:
        return set()


def status_host(params: NodeParams) -> str:
    """Where to reach the status listener: the bind address, or loopback for a wildcard bind."""
    ip = ipaddress.ip_address(params.bind_address)
    if ip.is_unspecified:
        return "::1" if ip.version == 6 else "127.0.0.1"
    return str(ip)


def status_get(params: NodeParams, path: str, timeout_s: float = 1.0) -> str | None:
    """GET a status path on a fresh connection; the body on 200, else None."""
    conn = http.client.HTTPConnection(status_host(params), params.status_port, timeout=timeout_s)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read().decode("ascii", "replace")
        return body if response.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
