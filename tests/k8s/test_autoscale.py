"""Autoscaling from what the load balancer measures, run by the real Celery worker and beat: a load ramp
scales a Deployment out, it scales back in only after the scale-down window, every decision is recorded
with its inputs and shown by the API; an HPA on the same Deployment and missing rights are refused."""

from __future__ import annotations

import time

from django.db.models import F
from kubernetes import client

from appliance.k8s import kube
from appliance.k8s.choices import Metric, Outcome
from appliance.k8s.models import ScalingDecision, ScalingPolicy
from loadtests.autoscale import Ramp
from tests.api.conftest import make_actor
from tests.k8s.conftest import servers, wait_servers
from tests.kubesim.manifests import hpa
from tests.support.lb import wait_until

DOWN_WINDOW_S = 6


def _policy(binding, **fields: object) -> ScalingPolicy:
    defaults = {
        "deployment": "web",
        "metric": Metric.RPS_PER_REPLICA,
        "target": 15,
        "min_replicas": 2,
        "max_replicas": 5,
        "max_step": 2,
        "scale_down_window_s": DOWN_WINDOW_S,
        "interval_s": 1,
        "metric_window_s": 4,
    }
    policy = ScalingPolicy(binding=binding, **{**defaults, **fields})
    policy.full_clean()
    policy.save()
    return policy


def test_a_load_ramp_scales_out_and_the_end_of_load_scales_back_in_after_the_window(k8s, pools):
    cluster = k8s.start("auto", watched=["shop"], scaled=[("shop", "web")])
    cluster.deploy("shop", "web", replicas=2, delay_ms=20)
    url = pools.pool("kauto", [])
    policy = _policy(cluster.bind("kauto", "shop", "web"))
    wait_servers("kauto", 2)
    pools.wait()
    with Ramp(url, [(3, 20), (4, 50), (40, 110)], workers=12) as load:
        wait_until(
            lambda: cluster.replicas("shop", "web") >= 4 and len(servers("kauto")) >= 4, 35, "4 replicas"
        )
    stopped = time.time()
    wait_until(lambda: cluster.replicas("shop", "web") == 2, 40, "scaled back to 2")
    assert load.errors == 0 and load.requests > 200  # the first two steps alone offer 260
    up = (
        ScalingDecision.objects.filter(policy=policy, outcome=Outcome.SCALED, desired__gt=2)
        .order_by("at")
        .first()
    )
    assert up.current_replicas == 2 and up.observed > up.target and up.window_s == 4
    assert up.inputs["binding_rps"] > 30 and up.inputs["servers"] == 2
    decisions = ScalingDecision.objects.filter(policy=policy, at__gt=up.at)
    # A decision is stored just after its scale write: wait for it, not only for the replicas.
    down = wait_until(lambda: decisions.filter(outcome=Outcome.SCALED, desired=2).first(), 10, "back to 2")
    assert down.observed < down.target and down.at.timestamp() - stopped >= DOWN_WINDOW_S - 0.5
    first_down = decisions.filter(outcome=Outcome.SCALED, desired__lt=F("current_replicas")).order_by("at")[0]
    assert decisions.filter(at__lt=first_down.at, reason__contains="scale-down stabilization").exists()
    # Kubernetes' rule: down to D only once no recommendation above D is left in the window.
    above = decisions.filter(at__lt=first_down.at, recommended__gt=first_down.desired).order_by("-at")[0]
    assert (first_down.at - above.at).total_seconds() >= DOWN_WINDOW_S - 0.5
    shown = make_actor("viewer").client.get(f"/api/v1/scaling-decisions/?policy={policy.pk}&outcome=scaled")
    assert shown.status_code == 200 and shown.json()["count"] >= 2
    assert {"observed", "current_replicas", "desired", "reason", "inputs", "window_s"} <= set(
        shown.json()["results"][0]
    )


def test_a_policy_refuses_to_fight_an_hpa_on_the_same_deployment(k8s, pools):
    cluster = k8s.start("hpa", watched=["shop"], scaled=[("shop", "web")])
    cluster.deploy("shop", "web", replicas=2)
    client.AutoscalingV2Api(cluster.admin).create_namespaced_horizontal_pod_autoscaler(
        "shop", hpa("web-hpa", "web")
    )
    pools.pool("khpa", [])
    policy = _policy(cluster.bind("khpa", "shop", "web"), min_replicas=4)  # would scale up if it could
    decision = wait_until(lambda: policy.decisions.first(), 15, "a decision")
    assert decision.outcome == Outcome.REFUSED
    assert "HorizontalPodAutoscaler web-hpa already scales Deployment web" in decision.reason
    assert cluster.replicas("shop", "web") == 2


def test_without_rights_on_deployments_scale_the_decision_says_forbidden(k8s, pools):
    cluster = k8s.start("norights", watched=["shop"])  # no autoscaling rules granted
    cluster.deploy("shop", "web", replicas=2)
    pools.pool("knorights", [])
    policy = _policy(cluster.bind("knorights", "shop", "web"), min_replicas=3)
    decision = wait_until(lambda: policy.decisions.first(), 15, "a decision")
    assert decision.outcome == Outcome.FAILED and decision.reason.startswith("forbidden")
    assert cluster.replicas("shop", "web") == 2


def test_a_scale_write_is_refused_when_the_deployment_changed_since_it_was_read(k8s):
    cluster = k8s.start("conflict", watched=["shop"])
    cluster.deploy("shop", "web", replicas=1)
    read = kube.read_scale(cluster.admin, "shop", "web")
    cluster.scale("shop", "web", 2)  # someone else writes in between
    try:
        kube.patch_scale(cluster.admin, "shop", "web", 5, read)
    except kube.ApiException as exc:
        assert exc.status == 409
    else:
        raise AssertionError("a stale scale write went through")
    assert cluster.replicas("shop", "web") == 2
    kube.patch_scale(cluster.admin, "shop", "web", 3, kube.read_scale(cluster.admin, "shop", "web"))
    assert cluster.replicas("shop", "web") == 3
