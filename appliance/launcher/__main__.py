"""`python -m appliance.launcher run`: start the whole appliance in the foreground; Ctrl-C stops it.

A second run reuses the state directory (database, objects, secrets, nginx revisions), so it is ready in
seconds and loses nothing.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from appliance.launcher import services as svc
from appliance.launcher.config import StackConfig
from appliance.launcher.procs import StartError
from appliance.launcher.stack import Stack


def run(cfg: StackConfig) -> int:
    stack = Stack(cfg)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stack.start_infra()
        stack.start_node(cfg.node_name, cfg.bind, cfg.ports.status)
        stack.start_control()
        stack.start_payments(cfg.payment_replicas)
        svc.manage(
            cfg,
            "demo",
            "--payment-ports",
            ",".join(str(r.port) for r in stack.payments),
            "--http-port",
            str(cfg.ports.demo_http),
        )
        stack.start_k8s_watcher()
        stack.start_kubesim()
        print(svc.manage(cfg, "k8s_demo").strip(), file=sys.stderr)
        print_welcome(cfg)
        while not stop.wait(1.0):
            dead = [c for c in stack.running if not c.child.alive()]  # type: ignore[attr-defined]
            if dead:
                names = ", ".join(c.child.name for c in dead)  # type: ignore[attr-defined]
                print(f"stopping: {names} exited unexpectedly (logs in {cfg.path('logs')})", file=sys.stderr)
                return 1
        return 0
    except StartError as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping the appliance ...", file=sys.stderr)
        stack.stop()
        print("stopped.", file=sys.stderr)


def print_welcome(cfg: StackConfig) -> None:
    password_file = cfg.path("admin-password")
    password_hint = (
        f"password in {password_file}" if password_file.exists() else "password from LB_ADMIN_PASSWORD"
    )
    web = f"http://{cfg.bind}:{cfg.ports.web}"
    print(
        f"""
The LB appliance is running (state in {cfg.state_dir}, logs in {cfg.path("logs")}).
  Web UI and API   {web}/          user admin, {password_hint}
  API docs         {web}/api/v1/docs/
  Readiness        {web}/readyz
  Demo service     http://{cfg.bind}:{cfg.ports.demo_http}/api/payments  (payment replicas behind the LB)
  Data-plane status http://{cfg.bind}:{cfg.ports.status}/revision
  Kubernetes       https://127.0.0.1:{cfg.ports.kubesim}  (SIMULATED: kubesim, payment Deployment)
                   kubeconfig {cfg.path("kubeconfig")}
Press Ctrl-C to stop everything.
""",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m appliance.launcher")
    parser.add_argument("command", choices=["run"])
    parser.parse_args()
    return run(StackConfig.from_env())


if __name__ == "__main__":
    sys.exit(main())
