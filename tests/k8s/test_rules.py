"""The pure rules: the HPA algorithm (tolerance, ceil, stabilization windows, step, bounds), EndpointSlices
joined into one Service port's endpoints, and which server state an endpoint's conditions give."""

from __future__ import annotations

import pytest

from appliance.k8s import hpa
from appliance.k8s.endpoints import EndpointView, endpoints_of, member_state

LIMITS = hpa.Limits(min_replicas=2, max_replicas=10, max_step=4)


@pytest.mark.parametrize(
    ("current", "ready", "observed", "target", "expected"),
    [
        (4, 4, 108, 100, 4),  # within 10 %: unchanged
        (4, 4, 92, 100, 4),
        (4, 4, 111, 100, 5),  # ceil(1.11 x 4) = 5
        (4, 4, 50, 100, 2),
        (4, 3, 200, 100, 6),  # per ready replica: ceil(2 x 3)
        (2, 2, 0, 15, 0),  # no load recommends nothing; the bounds bring it to min later
        (3, 3, 100 / 3 * 1.2, 100 / 3, 4),  # ratio exactly 1.2: no float noise added
    ],
)
def test_the_recommendation_follows_the_hpa_formula(current, ready, observed, target, expected):
    assert hpa.recommend(current, ready, observed, target).replicas == expected


def test_scale_up_goes_to_the_lowest_recommendation_of_its_window():
    step = hpa.normalize(current=2, recommendation=8, up_window=[5, 9], down_window=[], limits=LIMITS)
    assert step.replicas == 5 and "scale-up stabilization window holds 5" in step.reason


def test_scale_down_waits_for_every_recommendation_of_its_window():
    held = hpa.normalize(current=6, recommendation=2, up_window=[], down_window=[6, 3], limits=LIMITS)
    assert held.replicas == 6 and "scale-down stabilization window" in held.reason
    gone = hpa.normalize(current=6, recommendation=2, up_window=[], down_window=[3, 2], limits=LIMITS)
    assert gone.replicas == 3


def test_max_step_then_bounds_limit_the_change():
    assert hpa.normalize(2, 10, [], [], LIMITS) == hpa.Step(6, "max step 4")
    assert hpa.normalize(9, 30, [], [], LIMITS).replicas == 10
    assert hpa.normalize(4, 0, [], [], LIMITS) == hpa.Step(2, "bounded to 2..10")
    # Below min (someone scaled it down by hand): back to min at once, whatever the step.
    assert hpa.normalize(0, 0, [], [], hpa.Limits(3, 10, 1)).replicas == 3


def _slice(port_name: str, port: int, *endpoints: dict, address_type: str = "IPv4") -> dict:
    return {
        "addressType": address_type,
        "ports": [{"name": port_name, "port": port}],
        "endpoints": list(endpoints),
        "metadata": {"name": f"s-{port}"},
    }


def _endpoint(address: str, pod: str = "", **conditions: bool) -> dict:
    return {"addresses": [address], "conditions": conditions, "targetRef": {"name": pod}}


def test_slices_are_joined_per_port_name_and_duplicates_merge():
    slices = [
        _slice("http", 8080, _endpoint("10.0.0.1", "a", ready=True), _endpoint("10.0.0.2", "b", ready=False)),
        _slice("http", 8080, _endpoint("10.0.0.2", "b", ready=True)),  # moving between slices
        _slice("metrics", 9090, _endpoint("10.0.0.3", "c", ready=True)),
        _slice("http", 8080, _endpoint("web.example", "d"), address_type="FQDN"),
    ]
    found = endpoints_of(slices, "http")
    assert [(e.address, e.port, e.ready) for e in found] == [
        ("10.0.0.1", 8080, True),
        ("10.0.0.2", 8080, True),
    ]


def test_unset_conditions_mean_ready_and_serving():
    (only,) = endpoints_of([_slice("", 80, _endpoint("10.0.0.9"))], "")
    assert only.ready and only.serving and not only.terminating


@pytest.mark.parametrize(
    ("ready", "terminating", "state"),
    [(True, False, "enabled"), (False, False, "disabled"), (False, True, "drain"), (True, True, "drain")],
)
def test_terminating_drains_and_not_ready_takes_no_traffic(ready, terminating, state):
    view = EndpointView("10.0.0.1", 80, "pod", ready=ready, serving=True, terminating=terminating)
    assert member_state(view) == state
