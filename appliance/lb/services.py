"""Business rules of the load-balancing domain, shared by the API, the UI and the workers.

Change → `mark_changed` (same transaction) → the compile worker turns the newest desired state into an
immutable `ConfigRevision` → every node agent converges on the newest revision and reports back.
"""

from __future__ import annotations

import logging
import re

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Right

from appliance.lb.choices import RevisionStatus
from appliance.lb.models import (
    ConfigRevision,
    DataPlaneNode,
    DesiredState,
    NodeRevisionStatus,
    Server,
    Upstream,
    VirtualServer,
)
from appliance.lb.snapshot import Quarantine, build_snapshot
from nginx.compiler import CompileError, compile_config

log = logging.getLogger(__name__)

COMPILE_LOCK = 0x4C42_0001  # pg advisory lock key: one compile at a time across all workers
MAX_QUARANTINE_ROUNDS = 20


def desired_state() -> DesiredState:
    state, _ = DesiredState.objects.get_or_create(pk=1)
    return state


def mark_changed(cause: str, author: str = "") -> int:
    """Record a change of desired state; call inside the transaction that made it.

    Returns the generation that will carry the change. The compile is enqueued after commit, so the
    worker always sees the change; a burst of changes coalesces into one compile (see DesiredState).
    """
    desired_state()
    DesiredState.objects.filter(pk=1).update(
        generation=F("generation") + 1,
        cause=Right(Concat(F("cause"), Value(cause + "\n")), 4000),
        author=author[:150],
    )
    from workers.config import compile_desired_state as task

    transaction.on_commit(lambda: task.delay())
    return int(DesiredState.objects.values_list("generation", flat=True).get(pk=1))


def _next_number() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('lb_revision_number_seq')")
        return int(cursor.fetchone()[0])


def _compile_quarantining(quarantine: Quarantine | None = None):  # type: ignore[no-untyped-def]
    """Compile; an object the compiler rejects is left out with its reason and the rest compiles."""
    for _ in range(MAX_QUARANTINE_ROUNDS):
        snapshot, quarantine = build_snapshot(quarantine)
        try:
            return compile_config(snapshot), quarantine
        except CompileError as exc:
            model = {"upstream": Upstream, "virtual_server": VirtualServer}.get(exc.obj_kind, Upstream)
            obj = model.objects.filter(name=exc.obj_name).first()
            if obj is None:
                raise
            kind = "virtual_server" if model is VirtualServer else "upstream"
            quarantine.add(kind, obj.pk, obj.name, str(exc))
    raise RuntimeError("too many objects rejected by the compiler")


def compile_preview():  # type: ignore[no-untyped-def]
    """Compile the desired state as the compile worker would (quarantining), without storing anything.

    For previews: the caller reads uncommitted changes inside a transaction it then rolls back.
    """
    return _compile_quarantining()


def _sync_server_quarantine(quarantine: Quarantine) -> None:
    reasons = {int(str(i["id"])): str(i["error"]) for i in quarantine.items if i["kind"] == "server"}
    Server.objects.exclude(pk__in=reasons).exclude(quarantine_reason="").update(quarantine_reason="")
    for pk, reason in reasons.items():
        Server.objects.filter(pk=pk).exclude(quarantine_reason=reason[:500]).update(
            quarantine_reason=reason[:500]
        )


def live_revision() -> ConfigRevision | None:
    return ConfigRevision.objects.filter(status=RevisionStatus.APPLIED).order_by("-number").first()


def compile_desired_state(force: bool = False, cause: str = "", author: str = "") -> ConfigRevision | None:
    """Compile the newest desired state into a new revision, unless nothing changed. Single-flight.

    `force` makes a revision even when nothing changed (see `redeploy`); `cause`/`author` then say why.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMPILE_LOCK])
        state = DesiredState.objects.select_for_update().get_or_create(pk=1)[0]
        latest = ConfigRevision.objects.order_by("-number").first()
        if latest and not force and state.compiled_generation >= state.generation:
            return None
        compiled, quarantine = _compile_quarantining()
        _sync_server_quarantine(quarantine)
        cause = "\n".join(c for c in (state.cause.strip(), cause) if c)
        author = author or state.author
        DesiredState.objects.filter(pk=1).update(compiled_generation=state.generation, cause="")
        if latest and latest.checksum == compiled.checksum and not force:
            return None
        revision = ConfigRevision.objects.create(
            number=_next_number(),
            files=compiled.files,
            checksum=compiled.checksum,
            listen_ports=list(compiled.listen_ports),
            cause=cause or "compile",
            author=author,
            previous=live_revision(),
            quarantined=quarantine.items,
        )
        transaction.on_commit(broadcast_converge)
    log.info("created revision %s (%s)", revision.number, revision.cause.replace("\n", "; "))
    return revision


def redeploy(cause: str, author: str) -> ConfigRevision:
    """A new revision of the current desired state, even if nothing changed: every node applies it.

    Publishing the new number takes an nginx reload on each node (see `nginx.applier`), while the
    configuration, so where every request goes, stays what the operator asked for. Changes not compiled
    yet are included, as the next compile would include them. The revision records `cause` and `author`.
    """
    revision = compile_desired_state(force=True, cause=cause, author=author)
    assert revision is not None  # a forced compile always makes one
    return revision


def rollback(target: ConfigRevision, author: str) -> ConfigRevision:
    """Put an older revision's files live again, as a new revision (history is never rewritten).

    The stored objects are not changed: the next change of desired state compiles from them again.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMPILE_LOCK])
        revision = ConfigRevision.objects.create(
            number=_next_number(),
            files=target.files,
            checksum=target.checksum,
            listen_ports=target.listen_ports,
            cause=f"rollback to revision {target.number}",
            author=author,
            previous=live_revision(),
            rollback_of=target,
            quarantined=target.quarantined,
        )
        transaction.on_commit(broadcast_converge)
    return revision


def broadcast_converge() -> None:
    from appliance.celery import broadcast
    from workers.agent import converge

    broadcast(converge)


def record_node_result(
    node: DataPlaneNode, revision: ConfigRevision, ok: bool, message: str, duration_ms: int
) -> None:
    status = RevisionStatus.APPLIED if ok else RevisionStatus.FAILED
    NodeRevisionStatus.objects.update_or_create(
        revision=revision,
        node=node,
        defaults={"status": status, "message": message[:20000], "duration_ms": duration_ms},
    )
    if ok:
        DataPlaneNode.objects.filter(pk=node.pk).update(live_revision=revision.number)
    refresh_revision_status(revision)


def refresh_revision_status(revision: ConfigRevision) -> None:
    """applied = every active node serves it; failed = some node refused it (with nginx's words)."""
    statuses = list(revision.node_statuses.select_related("node"))
    failed = [s for s in statuses if s.status == RevisionStatus.FAILED]
    applied = {s.node_id for s in statuses if s.status == RevisionStatus.APPLIED}
    active = set(DataPlaneNode.objects.active().values_list("pk", flat=True))
    if failed:
        status = RevisionStatus.FAILED
        error = "\n".join(f"[{s.node.name}] {s.message}" for s in failed)
    elif active and active <= applied:
        status, error = RevisionStatus.APPLIED, ""
    else:
        status, error = RevisionStatus.PENDING, ""
    ConfigRevision.objects.filter(pk=revision.pk).update(status=status, error=error, culprits=culprits(error))


_FILE_RE = re.compile(r"\b(upstreams|sites)/([a-z0-9][a-z0-9_-]{0,62})\.conf\b")
_BIND_RE = re.compile(r"bind\(\) to [^ ]*:(\d{1,5}) failed")


def culprits(error: str) -> list[dict[str, str]]:
    """The objects an nginx error points at: the file it names, or the virtual servers on a busy port."""
    found = {
        ("upstream" if kind == "upstreams" else "virtual_server", name)
        for kind, name in _FILE_RE.findall(error)
    }
    for port in {int(p) for p in _BIND_RE.findall(error)}:
        found |= {
            ("virtual_server", name)
            for name in VirtualServer.objects.filter(http_ports__contains=[port]).values_list(
                "name", flat=True
            )
        }
    return [{"kind": kind, "name": name} for kind, name in sorted(found)]
