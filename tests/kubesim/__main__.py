"""Command line: ``python -m tests.kubesim --port N --state-dir DIR --token TOKEN``.

Runs until SIGTERM or SIGINT, then stops every replica process it started and exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from .server import Settings, Simulator


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m tests.kubesim",
        description="kubesim: a SIMULATED Kubernetes API server for tests and demos (not a cluster).",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address; keep it on loopback")
    parser.add_argument("--state-dir", type=Path, required=True, help="snapshot, logs, kubeconfig")
    parser.add_argument("--token", required=True, help="bearer token of the all-powerful admin user")
    parser.add_argument("--cluster-name", default="kubesim", help="cluster/context name in the kubeconfig")
    parser.add_argument("--kubeconfig-out", type=Path, help="where to write the kubeconfig")
    parser.add_argument("--rbac-file", type=Path, help="JSON/YAML file with more users, tokens and rules")
    parser.add_argument("--event-window", type=int, default=1000, help="watch events kept for resuming")
    parser.add_argument("--bookmark-interval", type=float, default=1.0, help="seconds between BOOKMARKs")
    parser.add_argument("--max-watch-seconds", type=float, default=1800.0, help="upper bound per watch")
    parser.add_argument("--no-persist", action="store_true", help="do not keep a snapshot in the state dir")
    parser.add_argument(
        "--plain-http", action="store_true", help="serve plain HTTP (kubectl then sends no token)"
    )
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost") and not args.host.startswith("127."):
        parser.error("kubesim only listens on loopback addresses")
    return Settings(
        state_dir=args.state_dir,
        token=args.token,
        host=args.host,
        port=args.port,
        cluster_name=args.cluster_name,
        kubeconfig_out=args.kubeconfig_out,
        rbac_file=args.rbac_file,
        event_window=args.event_window,
        bookmark_interval=args.bookmark_interval,
        max_watch_seconds=args.max_watch_seconds,
        persist=not args.no_persist,
        tls=not args.plain_http,
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    simulator = Simulator(parse_args(argv))
    stop_requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_requested.set())
    simulator.start()
    print(f"kubesim (SIMULATED Kubernetes API) listening on {simulator.url}", flush=True)
    print(f"kubeconfig: {simulator.kubeconfig_path}", flush=True)
    try:
        # Short waits keep the main thread responsive to signals on every platform.
        while not stop_requested.wait(0.5):
            pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
