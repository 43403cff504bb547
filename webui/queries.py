"""Read-side queries the UI pages share: rotation and health counts per upstream, in one grouped query.

"In rotation" follows `appliance.health.rotation`: an enabled, compiled server is out when its health is
`unhealthy`, unless every such server of the upstream is unhealthy, in which case the upstream fails open
and keeps them all.
"""

from __future__ import annotations

from django.db.models import BooleanField, Case, Count, F, Q, QuerySet, Value, When

from appliance.health.choices import HealthStatus
from appliance.lb.choices import ServerState
from appliance.lb.models import Upstream

_USABLE = Q(servers__state=ServerState.ENABLED, servers__quarantine_reason="")
_UNHEALTHY = Q(servers__health__status=HealthStatus.UNHEALTHY)
_FAILS_OPEN = Q(usable__gt=0, usable_unhealthy=F("usable"))


def with_health_counts(upstreams: QuerySet[Upstream]) -> QuerySet[Upstream]:
    """Each upstream with `server_total`, `in_rotation`, `out`, `draining`, `disabled`, `quarantined`,
    `unhealthy` and `fail_open`."""
    counted = upstreams.annotate(
        server_total=Count("servers"),
        usable=Count("servers", filter=_USABLE),
        usable_unhealthy=Count("servers", filter=_USABLE & _UNHEALTHY),
        unhealthy=Count("servers", filter=_UNHEALTHY),
        draining=Count("servers", filter=Q(servers__state=ServerState.DRAIN)),
        disabled=Count("servers", filter=Q(servers__state=ServerState.DISABLED)),
        quarantined=Count("servers", filter=~Q(servers__quarantine_reason="")),
    )
    return counted.annotate(
        fail_open=Case(
            When(_FAILS_OPEN, then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        in_rotation=Case(When(_FAILS_OPEN, then=F("usable")), default=F("usable") - F("usable_unhealthy")),
    ).annotate(out=F("server_total") - F("in_rotation"))


def health_totals() -> dict[str, int]:
    """The same figures summed over every upstream, for the dashboard's headline.

    One query returning one small row per upstream, summed here: PostgreSQL cannot aggregate these
    aggregates in one level, and Django's subquery for it drops the annotations.
    """
    names = ("server_total", "in_rotation", "draining", "disabled", "quarantined", "unhealthy", "fail_open")
    rows = with_health_counts(Upstream.objects.order_by()).values_list(*names)
    totals = dict.fromkeys(names, 0) | {"upstreams": 0}
    for row in rows:
        totals["upstreams"] += 1
        for name, value in zip(names, row, strict=True):
            totals[name] += int(value)
    return totals
