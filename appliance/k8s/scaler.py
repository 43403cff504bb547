"""Autoscaling: evaluate due policies — read the LB's metric, run the HPA algorithm, patch `scale`, record.

Run by the Celery control worker (`workers.k8s.evaluate_scaling`, every second from beat). A policy is
claimed with a conditional UPDATE of `next_evaluation_at` that leases it for `LEASE_S`, so two workers
never evaluate it at once, even when one evaluation outlasts the interval; when it is done, the next
evaluation is due one interval after this one started.
Every evaluation stores a `ScalingDecision` with what it read and why it decided, whatever the outcome.
The scale write carries the resourceVersion it read as a precondition: if someone else changed the
Deployment in between (409), it reads again and decides again, up to `MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from kubernetes import client

from appliance.k8s import hpa, kube, services
from appliance.k8s.choices import Metric, Outcome
from appliance.k8s.metrics import MetricsProvider, UpstreamLoad, default_provider
from appliance.k8s.models import DiscoveredEndpoint, ScalingDecision, ScalingPolicy
from appliance.lb.choices import ServerState

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
KEEP_DECISIONS = timedelta(days=2)
LEASE_S = 90  # longer than the task's time limit: a crashed evaluation is picked up again after this


@dataclass
class Evaluation:
    """What one evaluation read and decided, stored as a `ScalingDecision`."""

    outcome: str = Outcome.UNCHANGED
    reason: str = ""
    observed: float | None = None
    ready: int | None = None
    current: int | None = None
    recommended: int | None = None
    desired: int | None = None
    attempts: int = 0
    inputs: dict[str, Any] = field(default_factory=dict)


def _server_key(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _observe(policy: ScalingPolicy, load: UpstreamLoad | None, found: Evaluation) -> str:
    """Fill `observed`, `ready` and `inputs`; the reason there is no usable figure, or ""."""
    rows = DiscoveredEndpoint.objects.filter(binding=policy.binding, server__isnull=False)
    members = {_server_key(a, p): s for a, p, s in rows.values_list("address", "port", "server__state")}
    found.ready = sum(1 for state in members.values() if state == ServerState.ENABLED)
    if load is None:
        return f"no load-balancer metrics for upstream {policy.binding.upstream.name} yet"
    mine = [load.servers[k] for k in members if k in load.servers]
    rps, inflight = sum(s.rps for s in mine), sum(s.inflight for s in mine)
    found.inputs = {
        "upstream_rps": round(load.rps, 3),
        "binding_rps": round(rps, 3),
        "binding_inflight": round(inflight, 3),
        "upstream_p95_ms": load.p95_ms,
        "servers": len(members),
    }
    if policy.metric == Metric.P95_LATENCY_MS:
        # No request in the window means no latency to speak of: as low as it gets, so scale toward min.
        found.observed = load.p95_ms if load.p95_ms is not None else 0.0
        return ""
    if not found.ready:
        return "no ready replica behind the load balancer"
    found.observed = (rps if policy.metric == Metric.RPS_PER_REPLICA else inflight) / found.ready
    return ""


def _recent(policy: ScalingPolicy, seconds: int, now: datetime) -> list[int]:
    if seconds <= 0:
        return []
    rows = policy.decisions.filter(at__gte=now - timedelta(seconds=seconds), recommended__isnull=False)
    return list(rows.values_list("recommended", flat=True))


def _decide(policy: ScalingPolicy, scale: kube.Scale, problem: str, found: Evaluation, now: datetime) -> None:
    found.current = scale.replicas
    if problem:
        found.recommended, reason = None, problem
        recommendation = scale.replicas
    else:
        assert found.observed is not None and found.ready is not None
        step = hpa.recommend(scale.replicas, found.ready, found.observed, policy.target)
        found.recommended = recommendation = step.replicas
        reason = step.reason
    limits = hpa.Limits(policy.min_replicas, policy.max_replicas, policy.max_step)
    final = hpa.normalize(
        scale.replicas,
        recommendation,
        _recent(policy, policy.scale_up_window_s, now),
        _recent(policy, policy.scale_down_window_s, now),
        limits,
    )
    found.desired = final.replicas
    found.reason = "; ".join(filter(None, [reason, final.reason]))
    if final.replicas != scale.replicas:
        found.outcome = Outcome.SCALED
    else:
        found.outcome = Outcome.SKIPPED if problem else Outcome.UNCHANGED


def _scale(
    api: client.ApiClient, policy: ScalingPolicy, problem: str, found: Evaluation, now: datetime
) -> None:
    namespace, deployment = policy.binding.namespace, policy.deployment
    for attempt in range(1, MAX_ATTEMPTS + 1):
        scale = kube.read_scale(api, namespace, deployment)
        _decide(policy, scale, problem, found, now)
        if found.outcome != Outcome.SCALED:
            return
        found.attempts = attempt
        try:
            kube.patch_scale(api, namespace, deployment, int(found.desired or 0), scale)
            return
        except kube.ApiException as exc:
            if exc.status != 409 or attempt == MAX_ATTEMPTS:
                raise
            log.info("scale of %s/%s changed under us (409); deciding again", namespace, deployment)


def _failure(exc: Exception, policy: ScalingPolicy) -> str:
    where = f"{policy.binding.cluster.name}/{policy.binding.namespace}"
    if isinstance(exc, kube.ApiException):
        if exc.status == 403:
            return f"forbidden in {where}: {kube.message(exc)} (see GET clusters/{{id}}/rbac/)"
        if exc.status == 404:
            return f"Deployment {policy.deployment} not found in {where}"
        return f"Kubernetes API answered {exc.status} {exc.reason}"
    return f"cluster {policy.binding.cluster.name} unreachable: {type(exc).__name__}: {exc}"


def evaluate(policy: ScalingPolicy, provider: MetricsProvider | None = None) -> ScalingDecision:
    """One evaluation of `policy`, recorded whatever happens."""
    provider = provider or default_provider()
    binding, now, found = policy.binding, timezone.now(), Evaluation()
    try:
        with services.api_for(binding.cluster) as api:
            owners = kube.hpas_targeting(api, binding.namespace, policy.deployment)
            if owners:
                found.outcome = Outcome.REFUSED
                found.reason = (
                    f"HorizontalPodAutoscaler {', '.join(owners)} already scales Deployment "
                    f"{policy.deployment}: two autoscalers would fight; remove it or disable this policy"
                )
            else:
                problem = _observe(
                    policy, provider.upstream_load(binding.upstream.name, policy.metric_window_s), found
                )
                _scale(api, policy, problem, found, now)
    except (kube.ApiException, *services.UNREACHABLE_ERRORS) as exc:
        found.outcome, found.reason = Outcome.FAILED, _failure(exc, policy)
    return ScalingDecision.objects.create(
        policy=policy,
        at=now,
        metric=policy.metric,
        target=policy.target,
        window_s=policy.metric_window_s,
        observed=found.observed,
        ready_replicas=found.ready,
        current_replicas=found.current,
        recommended=found.recommended,
        desired=found.desired,
        outcome=found.outcome,
        reason=found.reason[:500],
        inputs=found.inputs,
        attempts=found.attempts,
    )


def claim(policy_id: int, now: datetime) -> ScalingPolicy | None:
    """The policy, if this caller won it for this interval (conditional UPDATE; losers get None)."""
    policy = (
        ScalingPolicy.objects.select_related("binding__cluster", "binding__upstream")
        .filter(pk=policy_id, enabled=True, next_evaluation_at__lte=now)
        .first()
    )
    if policy is None:
        return None
    won = ScalingPolicy.objects.filter(pk=policy_id, next_evaluation_at=policy.next_evaluation_at).update(
        next_evaluation_at=now + timedelta(seconds=LEASE_S)
    )
    return policy if won == 1 else None


def evaluate_due(provider: MetricsProvider | None = None) -> list[ScalingDecision]:
    """Evaluate every enabled policy whose interval has come; drop decisions older than `KEEP_DECISIONS`."""
    now = timezone.now()
    due = ScalingPolicy.objects.filter(enabled=True, next_evaluation_at__lte=now).values_list("pk", flat=True)
    decisions = []
    for policy_id in list(due):
        policy = claim(policy_id, now)
        if policy is None:
            continue
        try:
            decisions.append(evaluate(policy, provider))
        finally:
            next_at = now + timedelta(seconds=policy.interval_s)
            ScalingPolicy.objects.filter(pk=policy_id).update(next_evaluation_at=next_at)
    ScalingDecision.objects.filter(at__lt=now - KEEP_DECISIONS).delete()
    return decisions
