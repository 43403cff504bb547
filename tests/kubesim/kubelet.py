"""The simulated kubelet and controllers: run Deployments as local processes, publish endpoints.

One thread reconciles, woken by changes to Deployments and Services, by readiness changes, and
every ``tick`` seconds at least. Each pass, in this order:

1. sizes each Deployment's set of replicas to ``spec.replicas`` (surplus replicas are marked
   terminating; a changed pod template rolls replicas over, new ones first),
2. publishes EndpointSlices (terminating replicas appear as ``terminating: true``),
3. publishes Deployment ``status``,
4. only then sends signals and restarts crashed replicas — so a terminating endpoint is always
   visible to watchers before its process receives SIGTERM.

Everything it writes goes through ``Operations``: validated and versioned like any client write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path

from . import errors
from .endpoints import PodView, desired_slices, differs, is_managed
from .operations import DEPLOYMENTS, SERVICES, Operations, random_suffix
from .replicas import PortAllocator, Replica, RunSpec, process_start_ticks
from .resources import by_kind
from .status import deployment_status, status_differs

logger = logging.getLogger("kubesim.kubelet")
SLICES = by_kind("EndpointSlice")


def template_hash(template: dict) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


class Kubelet:
    """Owns every replica process; the only code that starts or signals them."""

    def __init__(self, ops: Operations, state_dir: Path, stop: threading.Event, tick: float = 0.2):
        self.ops = ops
        self.stop = stop
        self.tick = tick
        self.log_dir = state_dir / "logs"
        self.pid_file = state_dir / "replica-pids.json"
        self.replicas: dict[str, list[Replica]] = {}  # Deployment uid -> replicas
        self.ports = PortAllocator()
        self.wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubesim-kubelet", daemon=True)
        self._warned: set[str] = set()
        self._last_failure = ""
        ops.store.subscribe(self._on_event)

    def start(self) -> None:
        self._thread.start()

    def _on_event(self, event) -> None:
        if event.key in (DEPLOYMENTS.key, SERVICES.key):
            self.wake.set()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.wake.wait(self.tick)
            self.wake.clear()
            try:
                self.reconcile()
            except Exception:
                logger.exception("kubelet pass failed; retrying on the next tick")

    # -- one pass ----------------------------------------------------------------------------
    def reconcile(self) -> None:
        now = time.monotonic()
        deployments = self.ops.store.items(DEPLOYMENTS.key)
        for deployment in deployments:
            self._size(deployment, now)
        live = {d["metadata"]["uid"] for d in deployments}
        for uid, replicas in self.replicas.items():
            if uid not in live:
                for replica in replicas:
                    replica.begin_termination(now)
        self._publish_slices()
        self._publish_statuses(deployments)
        self._step(now)

    def _size(self, deployment: dict, now: float) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        replicas = self.replicas.setdefault(meta["uid"], [])
        run = RunSpec.from_template(spec["template"])
        if run is None:
            for replica in replicas:
                replica.begin_termination(now)
            return
        current_hash = template_hash(spec["template"])
        active = [r for r in replicas if not r.terminating]
        current = [r for r in active if r.template_hash == current_hash]
        old = [r for r in active if r.template_hash != current_hash]
        desired = spec.get("replicas", 1)
        while len(current) < desired:
            replica = self._new_replica(deployment, run, current_hash)
            if replica is None:
                break
            replicas.append(replica)
            current.append(replica)
            self._write_pid_file()
        # Scale down the least useful first: not-ready before ready, newest before oldest.
        surplus = sorted(current, key=lambda r: (r.ready, -r.created))[: max(0, len(current) - desired)]
        # Roll out a new template surge-style: an old replica goes once a new one is ready.
        ready_new = sum(r.ready for r in current) - sum(r.ready for r in surplus)
        keep_old = max(0, desired - ready_new)
        retired = sorted(old, key=lambda r: (r.ready, -r.created))[: max(0, len(old) - keep_old)]
        for replica in surplus + retired:
            replica.begin_termination(now)

    def _new_replica(self, deployment: dict, run: RunSpec, current_hash: str) -> Replica | None:
        meta = deployment["metadata"]
        port = self.ports.allocate(*run.port_range)
        if port is None:
            key = f"{meta['namespace']}/{meta['name']}"
            if key not in self._warned:
                self._warned.add(key)
                logger.warning("no free port in %s-%s for %s", *run.port_range, key)
            return None
        labels = dict((deployment["spec"]["template"].get("metadata") or {}).get("labels") or {})
        labels["pod-template-hash"] = current_hash
        replica = Replica(
            name=f"{meta['name']}-{current_hash}-{random_suffix()}",
            namespace=meta["namespace"],
            deployment_uid=meta["uid"],
            template_hash=current_hash,
            labels=labels,
            spec=run,
            port=port,
            log_dir=self.log_dir,
            on_change=self.wake.set,
        )
        replica.start()
        return replica

    # -- publishing --------------------------------------------------------------------------
    def _pods(self) -> list[PodView]:
        return [
            PodView(r.name, r.uid, r.namespace, r.labels, r.port, r.ready, r.terminating)
            for replicas in self.replicas.values()
            for r in replicas
            if not r.finished
        ]

    def _publish_slices(self) -> None:
        pods = self._pods()
        wanted = {}
        for service in self.ops.store.items(SERVICES.key):
            for body in desired_slices(service, pods):
                wanted[(body["metadata"]["namespace"], body["metadata"]["name"])] = body
        existing = {
            (s["metadata"]["namespace"], s["metadata"]["name"]): s
            for s in self.ops.store.items(SLICES.key)
            if is_managed(s)
        }
        for key, body in wanted.items():
            current = existing.get(key)
            if current is None:
                self._write(lambda b=body: self.ops.create(SLICES, b["metadata"]["namespace"], b))
            elif differs(current, body):
                body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                self._write(lambda k=key, b=body: self.ops.update(SLICES, k[0], k[1], b))
        for key in existing.keys() - wanted.keys():
            self._write(lambda k=key: self.ops.delete(SLICES, k[0], k[1], {}))

    def _write(self, action) -> None:
        try:
            action()
        except errors.ApiError as exc:
            # Raced with a client (conflict, namespace deleted…): the next pass converges. The same
            # failure repeats every pass, so it is logged once until something else happens.
            if exc.message != self._last_failure:
                logger.info("kubelet write skipped: %s", exc.message)
            self._last_failure = exc.message

    def _publish_statuses(self, deployments: list[dict]) -> None:
        for deployment in deployments:
            meta = deployment["metadata"]
            replicas = [r for r in self.replicas.get(meta["uid"], []) if not r.terminating]
            runnable = RunSpec.from_template(deployment["spec"]["template"]) is not None
            wanted_hash = template_hash(deployment["spec"]["template"])
            status = deployment_status(deployment, replicas, wanted_hash, runnable)
            if status_differs(deployment.get("status") or {}, status):
                body = {"metadata": {"resourceVersion": meta["resourceVersion"]}, "status": status}
                ns, name = meta["namespace"], meta["name"]
                self._write(lambda n=ns, m=name, b=body: self.ops.update_status(DEPLOYMENTS, n, m, b))

    # -- processes ---------------------------------------------------------------------------
    def _step(self, now: float) -> None:
        live = {d["metadata"]["uid"] for d in self.ops.store.items(DEPLOYMENTS.key)}
        changed = False
        for uid, replicas in list(self.replicas.items()):
            for replica in replicas:
                replica.step(now)
            for replica in [r for r in replicas if r.finished]:
                replicas.remove(replica)
                self.ports.release(replica.port)
                changed = True
            if not replicas and uid not in live:
                del self.replicas[uid]
        if changed:
            self.wake.set()  # publish the removal of finished replicas' endpoints right away
            self._write_pid_file()

    def _write_pid_file(self) -> None:
        """Record replica PIDs so the test harness can clean up even if kubesim itself is killed."""
        entries = [
            {"pid": r.process.pid, "startTicks": process_start_ticks(r.process.pid), "pod": r.name}
            for replicas in self.replicas.values()
            for r in replicas
            if r.process is not None and r.alive
        ]
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries))
        tmp.replace(self.pid_file)

    def shutdown(self, grace: float = 5.0) -> None:
        """Stop every replica: SIGTERM, up to ``grace`` seconds, then SIGKILL."""
        self.stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        everyone = [r for replicas in self.replicas.values() for r in replicas]
        now = time.monotonic()
        for replica in everyone:
            replica.begin_termination(now, skip_pre_stop=True)
            replica.step(now)
        deadline = now + grace
        while time.monotonic() < deadline and any(r.alive for r in everyone):
            time.sleep(0.05)
        for replica in everyone:
            replica.force_stop()
        self.replicas.clear()
        self._write_pid_file()
