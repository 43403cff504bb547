"""The discovery watcher: one thread per cluster, one list + watch stream per watched namespace.

It runs as a process of its own (`manage.py k8s_watch`, started by the launcher next to the Celery
workers), not as Celery tasks: watches are long-lived streaming connections that would pin the control
worker's few slots (compiles and health checks need them), and a process of its own keeps each cluster's
slice cache in memory across reconnects, so a reconnect costs a resumed watch, not a relist.

Per namespace, a stream lists the bound Services' EndpointSlices and then watches from the list's
resourceVersion, with bookmarks so that its position stays fresh on a quiet namespace. A dropped
connection resumes from the last position; `410 Gone` (position too old) relists. Events arriving
together are coalesced for `COALESCE_S` into one sync of the affected bindings, which marks the desired
state changed only if the resulting servers differ. If the API stays unreachable longer than the
cluster's grace period, its servers drain (see `membership.drain_unreachable_cluster`); when it answers
again every namespace is synced from a fresh view.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django import db
from django.utils import timezone
from kubernetes import client, watch

from appliance.k8s import kube, membership, services
from appliance.k8s.choices import ConnectionStatus
from appliance.k8s.endpoints import endpoints_of
from appliance.k8s.models import Cluster

log = logging.getLogger(__name__)

COALESCE_S = 0.1  # a scale-up's burst of slice events becomes one sync and at most one reload
PLAN_POLL_S = 2.0
PROBE_EVERY_S = 10.0
WATCH_TIMEOUT_S = 60  # the server ends each watch after this; it resumes from its last position
BACKOFF_S = (0.5, 1.0, 2.0, 5.0)


def _backoff(failures: int) -> float:
    return BACKOFF_S[min(failures, len(BACKOFF_S)) - 1]


class NamespaceStream(threading.Thread):
    """List + watch of the bound Services' EndpointSlices in one namespace; keeps them in a cache."""

    def __init__(
        self, api: client.ApiClient, namespace: str, services: frozenset[str], owner: ClusterWatcher
    ):
        super().__init__(name=f"k8s-{owner.plan.name}-{namespace}", daemon=True)
        self.api, self.namespace, self.services, self.owner = api, namespace, services, owner
        self.slices: dict[str, dict] = {}
        self.position: str | None = None  # the resourceVersion a watch resumes from; None = list first
        self.listed = False  # a partial view must never be synced: it would remove servers
        self.recovering = False  # after a failure, the first answer re-syncs (and clears the problem)
        self.lock = threading.Lock()
        self.stream = watch.Watch()

    def snapshot(self, service: str) -> list[dict]:
        with self.lock:
            return [
                s
                for s in self.slices.values()
                if (s["metadata"].get("labels") or {}).get(kube.SERVICE_NAME_LABEL) == service
            ]

    def stop(self) -> None:
        self.stream.stop()

    def run(self) -> None:
        failures = 0
        while not self.owner.stopping.is_set():
            try:
                if self.position is None:
                    self._relist()
                self._follow()
                failures = 0
            except kube.ApiException as exc:
                if exc.status == 410:
                    log.info("%s/%s: watch position expired, relisting", self.owner.plan.name, self.namespace)
                    self.position = None
                    continue
                failures += 1
                self.owner.stream_failed(self.namespace, f"{exc.status} {exc.reason}", exc.status)
            except services.UNREACHABLE_ERRORS as exc:
                failures += 1
                self.owner.stream_failed(self.namespace, f"{type(exc).__name__}: {exc}", None)
            if failures:
                self.recovering = True
                self.owner.stopping.wait(_backoff(failures))

    def _relist(self) -> None:
        items, position = kube.list_slices(self.api, self.namespace, self.services)
        with self.lock:
            self.slices = {s["metadata"]["name"]: s for s in items}
            self.listed = True
        self.position, self.recovering = position, False
        self.owner.changed(self.namespace)

    def _follow(self) -> None:
        assert self.position is not None
        events = kube.watch_slices(
            self.api, self.namespace, self.services, self.position, self.stream, WATCH_TIMEOUT_S
        )
        for kind, obj in events:
            if self.owner.stopping.is_set():
                break
            self.position = str(obj["metadata"]["resourceVersion"])
            if self.recovering:
                self.recovering = False
                self.owner.changed(self.namespace)
            if kind == "BOOKMARK":
                continue
            with self.lock:
                if kind == "DELETED":
                    self.slices.pop(obj["metadata"]["name"], None)
                else:
                    self.slices[obj["metadata"]["name"]] = obj
            self.owner.changed(self.namespace)


class ClusterWatcher(threading.Thread):
    """One cluster: its namespace streams, connection status, syncs, and the unreachable-cluster drain."""

    def __init__(self, plan: services.ClusterPlan):
        super().__init__(name=f"k8s-{plan.name}", daemon=True)
        self.plan = plan
        self.author = services.author_for(plan.name)
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.lock = threading.Lock()
        self.dirty: set[str] = set()
        self.failures: dict[str, tuple[str, int | None]] = {}  # namespace → last stream error
        self.recorded: dict[str, tuple[str, int | None]] = {}  # what the bindings say already
        self.streams: dict[str, NamespaceStream] = {}
        self.unreachable_since: float | None = None
        self.drained = False
        self.recheck_at: float | None = None  # endpoints are waiting out their removal grace
        self.status = ""  # last connection status, to log changes only
        self.next_probe = 0.0

    # -- called from the namespace streams -----------------------------------------------------
    def changed(self, namespace: str) -> None:
        with self.lock:
            self.dirty.add(namespace)
            self.failures.pop(namespace, None)
        self.wake.set()

    def stream_failed(self, namespace: str, detail: str, status: int | None) -> None:
        with self.lock:
            self.failures[namespace] = (detail, status)
        self.wake.set()

    # -- the cluster thread -------------------------------------------------------------------
    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        for stream in self.streams.values():
            stream.stop()

    def run(self) -> None:
        try:
            api = self._connect()
            if api is not None:
                with api:
                    self._watch(api)
        except Exception:
            log.exception("watcher of cluster %s failed; the supervisor restarts it", self.plan.name)
        finally:
            db.connection.close()

    def _connect(self) -> client.ApiClient | None:
        failures = 0
        while not self.stopping.is_set():
            db.close_old_connections()
            cluster = Cluster.objects.filter(pk=self.plan.cluster_id).first()
            if cluster is None:
                return None
            try:
                return services.api_for(cluster)
            except services.UNREACHABLE_ERRORS as exc:
                failures += 1
                detail = f"{type(exc).__name__}: {exc}"
                services.record_connection(
                    cluster.pk, services.Connection(ConnectionStatus.UNREACHABLE, detail)
                )
                self.stopping.wait(_backoff(failures))
        return None

    def _watch(self, api: client.ApiClient) -> None:
        self._probe(api)
        for namespace, names in self.plan.namespaces().items():
            self.streams[namespace] = NamespaceStream(api, namespace, names, self)
            self.streams[namespace].start()
        self.next_probe = time.monotonic() + PROBE_EVERY_S
        while not self.stopping.is_set():
            recheck_in = self.recheck_at - time.monotonic() if self.recheck_at is not None else 1.0
            self.wake.wait(min(1.0, max(0.01, recheck_in)))
            if self.wake.is_set():
                self.wake.clear()
                self.stopping.wait(COALESCE_S)
            if not self.stopping.is_set():
                self._pass(api)
        for stream in self.streams.values():
            stream.join(timeout=5)

    def _pass(self, api: client.ApiClient) -> None:
        """Status, problems, due re-syncs, the sync itself, and the drain of a lost cluster."""
        with self.lock:
            failing = dict(self.failures)
        # While the connection fails, probe every pass: the status must follow the recovery at once.
        disconnected = any(status is None for _, status in failing.values())
        if disconnected or self.unreachable_since is not None or time.monotonic() >= self.next_probe:
            self._probe(api)
            self.next_probe = time.monotonic() + PROBE_EVERY_S
        if failing != self.recorded and not self.drained:  # once drained, the bindings say why
            self._record_stream_problems(failing)
        if self.recheck_at is not None and time.monotonic() >= self.recheck_at:
            self.recheck_at = None
            self._resync_all()
        self._sync_dirty()
        self._drain_if_lost()

    def _probe(self, api: client.ApiClient) -> None:
        db.close_old_connections()
        connection = services.probe(api)
        services.record_connection(self.plan.cluster_id, connection)
        if connection.status != self.status:
            log.warning("cluster %s: %s %s", self.plan.name, connection.status, connection.detail)
            self.status = connection.status
        if connection.status != ConnectionStatus.UNREACHABLE:
            if self.drained:  # the servers were drained while the API was away
                self._resync_all()
            self.unreachable_since, self.drained = None, False
        elif self.unreachable_since is None:
            self.unreachable_since = time.monotonic()

    def _resync_all(self) -> None:
        with self.lock:
            self.dirty |= {ns for ns, stream in self.streams.items() if stream.listed}

    def _record_stream_problems(self, failing: dict[str, tuple[str, int | None]]) -> None:
        self.recorded = failing
        for namespace, (detail, status) in failing.items():
            ids = [k.id for k in self.plan.bindings if k.namespace == namespace]
            reason = "forbidden" if status == 403 else "watch failing"
            membership.record_sync_problem(ids, f"{reason}: {detail}")

    def _sync_dirty(self) -> None:
        with self.lock:
            namespaces, self.dirty = self.dirty, set()
        if not namespaces:
            return
        views = {
            key.id: endpoints_of(self.streams[key.namespace].snapshot(key.service), key.port_name)
            for key in self.plan.bindings
            if key.namespace in namespaces
        }
        db.close_old_connections()
        try:
            result = membership.sync_endpoints(self.plan.cluster_id, views, self.author)
        except db.DatabaseError:
            log.exception("sync of cluster %s failed; retrying", self.plan.name)
            with self.lock:
                self.dirty |= namespaces
            self.wake.set()
            return
        if result.recheck_after_s is not None:
            self.recheck_at = time.monotonic() + result.recheck_after_s
        if result.changes:
            log.info("cluster %s: %s", self.plan.name, "; ".join(result.changes))

    def _drain_if_lost(self) -> None:
        since = self.unreachable_since
        if self.drained or since is None or time.monotonic() - since < self.plan.grace_s:
            return
        started = timezone.now() - timedelta(seconds=time.monotonic() - since)
        db.close_old_connections()
        changes = membership.drain_unreachable_cluster(
            self.plan.cluster_id, started.isoformat(timespec="seconds"), self.author
        )
        self.drained = True
        log.warning("cluster %s unreachable for %ss: %s", self.plan.name, self.plan.grace_s, changes)


class Supervisor:
    """Keeps one `ClusterWatcher` per cluster, restarted whenever its plan (bindings, credentials) changes."""

    def __init__(self) -> None:
        self.watchers: dict[int, ClusterWatcher] = {}

    def run(self, stop: threading.Event, on_first_pass: Callable[[], None] = lambda: None) -> None:
        first = True
        while not stop.is_set():
            try:
                db.close_old_connections()
                self.converge(services.watch_plans())
            except db.DatabaseError:
                log.exception("cannot read the watch plan; retrying")
            if first:
                on_first_pass()
                first = False
            stop.wait(PLAN_POLL_S)
        for watcher in self.watchers.values():
            watcher.stop()
        for watcher in self.watchers.values():
            watcher.join(timeout=10)

    def converge(self, plans: dict[int, services.ClusterPlan]) -> None:
        for cluster_id, watcher in list(self.watchers.items()):
            if plans.get(cluster_id) != watcher.plan or not watcher.is_alive():
                watcher.stop()
                del self.watchers[cluster_id]
        for cluster_id, plan in plans.items():
            if cluster_id not in self.watchers:
                self.watchers[cluster_id] = ClusterWatcher(plan)
                self.watchers[cluster_id].start()
