"""The data-plane node agent's side: register this node and converge its nginx on the newest revision.

Converging is idempotent ("apply the latest", never "replay this message"), so a lost, duplicated or late
broadcast is harmless, and the periodic converge doubles as the node's heartbeat.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from appliance.lb import services
from appliance.lb.choices import RevisionStatus
from appliance.lb.models import ConfigRevision, DataPlaneNode, NodeRevisionStatus
from appliance.tls import node as tls_node
from nginx.applier import NodeApplier
from nginx.model import NodeParams


def node_params() -> NodeParams:
    node = settings.LB_NODE
    return NodeParams(name=node["name"], bind_address=node["bind"], status_port=int(node["status_port"]))


def register_node() -> DataPlaneNode:
    params = node_params()
    node, _ = DataPlaneNode.objects.update_or_create(
        name=params.name,
        defaults={
            "status_url": f"http://{params.bind_address}:{params.status_port}",
            "last_seen": timezone.now(),
        },
    )
    return node


def converge() -> NodeRevisionStatus | None:
    """Apply the newest revision to this node unless it already serves it or already refused it."""
    node = register_node()
    target = ConfigRevision.objects.order_by("-number").first()
    if target is None:
        return None
    done = NodeRevisionStatus.objects.filter(revision=target, node=node).first()
    applier = NodeApplier(Path(settings.LB_NODE["prefix"]), node_params())
    live = applier.live()
    if done and (done.status == RevisionStatus.FAILED or (live and live[0] == target.number)):
        services.refresh_revision_status(target)  # membership of active nodes may have changed
        return done
    started = time.monotonic()
    # Files from the row or its archive, certificates from object storage; an outage raises (retried).
    result = tls_node.apply_revision(applier, target)
    services.record_node_result(
        node, target, result.ok, result.message, int((time.monotonic() - started) * 1000)
    )
    return NodeRevisionStatus.objects.get(revision=target, node=node)
