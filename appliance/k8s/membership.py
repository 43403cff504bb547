"""Servers in step with discovered endpoints: one transaction and at most one `mark_changed` per batch.

The watcher hands over, per binding, the endpoints it currently sees. They are compared with what is
stored; only a difference in the resulting servers (added, removed, another state or weight) marks the
desired state changed. Conditions that flap without changing any server (a slice rewritten, relabelled,
re-listed after a reconnect) are recorded on the endpoint and cost no compile and no reload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from appliance.k8s.endpoints import EndpointView, member_state
from appliance.k8s.models import DiscoveredEndpoint, ServiceBinding
from appliance.lb import services as lb_services
from appliance.lb.choices import ServerState
from appliance.lb.models import Server

MAX_CAUSES = 20  # a revision's cause lists the first changes, then how many more
REMOVAL_GRACE_S = 1.0


@dataclass
class SyncResult:
    changes: list[str] = field(default_factory=list)
    # Endpoints waiting out their removal grace: sync again after this many seconds.
    recheck_after_s: float | None = None


def _label(binding: ServiceBinding, address: str, port: int) -> str:
    return f"{binding.upstream.name}/{address}:{port} ({binding.namespace}/{binding.service})"


def _mark(changes: list[str], author: str) -> None:
    shown = changes[:MAX_CAUSES]
    if len(changes) > MAX_CAUSES:
        shown.append(f"and {len(changes) - MAX_CAUSES} more")
    lb_services.mark_changed("k8s: " + "; ".join(shown), author)


def _new_server(binding: ServiceBinding, view: EndpointView) -> tuple[Server | None, str]:
    """A server for an endpoint, validated like any operator's (address allow-list, bounds, uniqueness)."""
    server = Server(upstream=binding.upstream, address=view.address, port=view.port, weight=binding.weight)
    try:
        server.full_clean()
    except ValidationError as exc:
        reasons = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        return None, f"no server: {reasons}"[:300]
    server.save()
    return server, ""


def _stored(row: DiscoveredEndpoint) -> tuple[object, ...]:
    return (
        row.pk,
        row.target,
        row.ready,
        row.serving,
        row.terminating,
        row.server_id,
        row.note,
        row.missing_since,
    )


def _apply(binding: ServiceBinding, row: DiscoveredEndpoint, view: EndpointView) -> str | None:
    """Update one endpoint row and its server; the change to the server set, if any."""
    before = _stored(row)
    row.target, row.ready, row.serving = view.target, view.ready, view.serving
    row.terminating, row.missing_since = view.terminating, None
    state, label, change = member_state(view), _label(binding, view.address, view.port), None
    server = row.server
    if server is not None and (server.state, server.weight) != (state, binding.weight):
        change = f"{label} {server.state} -> {state}" if server.state != state else f"{label} weight"
        server.state, server.weight = state, binding.weight
        server.save(update_fields=["state", "weight", "updated"])
    elif server is None and state == ServerState.ENABLED:
        # Only an endpoint that has been ready gets a server: a starting replica costs no reload.
        row.server, row.note = _new_server(binding, view)
        change = f"{label} added" if row.server else None
    if _stored(row) != before:  # conditions that flap without changing the server are written, not marked
        row.save()
    return change


def _vanished(binding: ServiceBinding, row: DiscoveredEndpoint, now: datetime, result: SyncResult) -> None:
    """An endpoint no slice lists any more: its server goes, after a grace if it was still serving."""
    if row.server is not None and not row.terminating and row.server.state == ServerState.ENABLED:
        # Usually it is moving between slices (a slice rewritten or recreated): give it a moment to come
        # back before a reload takes it out. A terminating endpoint was drained already: no wait.
        if row.missing_since is None:
            row.missing_since = now
            row.save(update_fields=["missing_since", "updated"])
        waited = (now - row.missing_since).total_seconds()
        if waited < REMOVAL_GRACE_S:
            left = REMOVAL_GRACE_S - waited
            result.recheck_after_s = min(result.recheck_after_s or left, left)
            return
    if row.server is not None:
        result.changes.append(f"{_label(binding, row.address, row.port)} removed")
        row.server.delete()
    row.delete()


def _sync_binding(binding: ServiceBinding, views: Sequence[EndpointView], result: SyncResult) -> None:
    rows = {(e.address, e.port): e for e in binding.endpoints.select_related("server")}
    for view in views:
        row = rows.pop(view.key, None) or DiscoveredEndpoint(
            binding=binding, address=view.address, port=view.port
        )
        change = _apply(binding, row, view)
        if change:
            result.changes.append(change)
    now = timezone.now()
    for row in rows.values():
        _vanished(binding, row, now, result)


def sync_endpoints(cluster_id: int, views: Mapping[int, Sequence[EndpointView]], author: str) -> SyncResult:
    """Bring the servers of the given bindings of one cluster in step with `views` (binding id → endpoints).

    The result lists the changes made to servers; none means nothing was marked changed.
    """
    with transaction.atomic():
        # Locked so an API weight change or deletion of the binding cannot interleave with this batch.
        bindings = list(
            ServiceBinding.objects.select_for_update(of=("self",))
            .select_related("upstream", "cluster")
            .filter(cluster_id=cluster_id, pk__in=list(views))
        )
        result = SyncResult()
        for binding in bindings:
            _sync_binding(binding, views[binding.pk], result)
        ServiceBinding.objects.filter(pk__in=[b.pk for b in bindings]).update(
            synced_at=timezone.now(), sync_detail=""
        )
        if result.changes:
            _mark(result.changes, author)
    return result


def record_sync_problem(binding_ids: Sequence[int], detail: str) -> None:
    """Say on the bindings why they are out of sync (forbidden, unreachable); their servers stay as is."""
    ServiceBinding.objects.filter(pk__in=list(binding_ids)).update(sync_detail=detail[:500])


def drain_unreachable_cluster(cluster_id: int, since: str, author: str) -> list[str]:
    """Drain the enabled servers of a cluster whose API is gone, upstream by upstream.

    Fail static: an upstream keeps this cluster's servers when no other enabled server would be left,
    since they may well still serve (an API outage is not a data-plane outage) and nothing else can.
    """
    with transaction.atomic():
        servers = list(
            Server.objects.select_for_update(of=("self",))
            .select_related("upstream")
            .filter(discovered_endpoint__binding__cluster_id=cluster_id, state=ServerState.ENABLED)
        )
        kept, changes = set(), []
        for upstream_id in sorted({s.upstream_id for s in servers}):
            others = (
                Server.objects.filter(upstream_id=upstream_id, state=ServerState.ENABLED)
                .exclude(discovered_endpoint__binding__cluster_id=cluster_id)
                .exists()
            )
            members = [s for s in servers if s.upstream_id == upstream_id]
            if not others:
                kept.add(members[0].upstream.name)
                continue
            Server.objects.filter(pk__in=[s.pk for s in members]).update(state=ServerState.DRAIN)
            changes += [f"{s.upstream.name}/{s} drained (cluster unreachable)" for s in members]
        detail = f"cluster unreachable since {since}"
        if kept:
            detail += f"; servers kept in {', '.join(sorted(kept))}: no other server would be left"
        ServiceBinding.objects.filter(cluster_id=cluster_id).update(sync_detail=detail[:500])
        if changes:
            _mark(changes, author)
    return changes
