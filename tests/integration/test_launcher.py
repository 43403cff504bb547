"""`make run`'s launcher end to end: everything comes up ready, the demo pays through the LB (to the
launcher's replicas and to the simulated cluster's), kubectl reads the simulated cluster through the
appliance's kubeconfig, and Ctrl-C cleans up."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from appliance.launcher.config import Ports
from loadtests.harness import REPO, free_port, wait_until


def launcher_env(state_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LB_")}
    env |= {f"LB_{name.upper()}_PORT": str(free_port()) for name in Ports.__dataclass_fields__}
    env |= {"LB_STATE_DIR": state_dir, "LB_PAYMENT_REPLICAS": "2", "PAYMENT_DRAIN_SECONDS": "0"}
    # Replicas listen on base + n (and the simulated ones on base + 100...): below the ephemeral ports,
    # where no outgoing connection of the busy test machine can be holding them.
    env["LB_PAYMENT_BASE_PORT"] = str(random.randrange(10000, 15000, 250))
    return env


def descendants(root: int) -> dict[int, str]:
    """pid → start time of every process below `root` (start time tells a reused pid apart)."""
    children: dict[int, list[int]] = {}
    start: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            start[int(entry.name)] = fields[19]
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = start[child]
            todo.append(child)
    return found


def still_running(pid: int, started: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == started and fields[0] != "Z"


def readyz(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except (OSError, urllib.error.HTTPError, ValueError):
        return None


def pay(url: str) -> tuple[int, dict[str, str]]:
    body = {"amount": "12.50", "currency": "EUR", "payer": "alice", "payee": "bob", "reference": "launcher"}
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": "launch-1"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers)


def test_launcher_runs_the_whole_appliance_and_ctrl_c_stops_everything():
    state_dir = tempfile.mkdtemp(prefix="lb-launcher-", dir="/var/tmp")
    env = launcher_env(state_dir)
    log = open(Path(state_dir) / "launcher.out", "w")  # noqa: SIM115 - closed at the end of the test
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance.launcher", "run"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        web = f"http://127.0.0.1:{env['LB_WEB_PORT']}"
        ready = wait_until(lambda: proc.poll() is None and readyz(web + "/readyz"), 180, "readyz 200", 0.5)
        assert {name: c["status"] for name, c in ready["checks"].items()} == dict.fromkeys(
            ready["checks"], "ok"
        )
        demo = f"http://127.0.0.1:{env['LB_DEMO_HTTP_PORT']}/api/payments"
        status, headers = wait_until(lambda: _try_pay(demo), 30, "a payment through the demo virtual server")
        assert status == 201 and headers["X-Instance"].startswith("payment-")
        pods = wait_until(lambda: _simulated_payment_pods(Path(state_dir)), 60, "two simulated payment pods")
        listed = _kubectl(Path(state_dir), "get", "endpointslices,deployments", "-A")
        assert "deployment.apps/payment" in listed.stdout and "payments" in listed.stdout, listed
        wait_until(
            lambda: pods & _instances(demo.replace("/payments", "/healthz")), 60, "a simulated replica"
        )
        tree = descendants(proc.pid)
        assert len(tree) > 10
        proc.send_signal(signal.SIGINT)
        assert proc.wait(120) == 0
        time.sleep(0.5)
        assert [pid for pid, started in tree.items() if still_running(pid, started)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
        if os.environ.get("LB_KEEP_TEST_STATE") is None:
            subprocess.run(["rm", "-rf", state_dir], check=False)


def _kubectl(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """kubectl through the appliance's kubeconfig ($LB_STATE_DIR/kubeconfig, written by `make run`)."""
    kubectl = str(shutil.which("kubectl", path=str(Path(sys.executable).parent)))
    command = [kubectl, "--kubeconfig", str(state_dir / "kubeconfig"), "--cache-dir", str(state_dir / "kc")]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)


def _simulated_payment_pods(state_dir: Path) -> set[str]:
    """The two pods behind the demo's Deployment once the simulated cluster runs them, else nothing."""
    names = _kubectl(
        state_dir, "get", "endpointslices", "-n", "payments", "-o", "jsonpath={..targetRef.name}"
    )
    found = set(names.stdout.split()) if names.returncode == 0 else set()
    return found if len(found) == 2 else set()


def _instances(url: str, requests: int = 12) -> set[str]:
    seen = set()
    for _ in range(requests):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                seen.add(response.headers.get("X-Instance", ""))
        except (OSError, urllib.error.HTTPError):
            pass
    return seen


def _try_pay(url: str) -> tuple[int, dict[str, str]] | None:
    try:
        return pay(url)
    except (OSError, urllib.error.HTTPError):
        return None
