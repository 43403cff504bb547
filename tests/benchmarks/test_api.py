"""Benchmark API: field-level validation, roles, list filters. No run is executed here."""

from __future__ import annotations

import pytest

from appliance.accounts.roles import Role
from appliance.benchmarks.models import BenchmarkRun
from appliance.lb.models import Upstream, VirtualServer
from appliance.tls.models import VirtualServerTls
from tests.api.conftest import Actor, make_actor
from tests.webui.conftest import client_with_role


@pytest.fixture
def vs(db: None) -> VirtualServer:
    upstream = Upstream.objects.create(name="bench")
    return VirtualServer.objects.create(name="bench", http_ports=[18090], default_upstream=upstream)


@pytest.fixture
def operator(db: None) -> Actor:
    return make_actor("operator")


@pytest.fixture
def viewer(db: None) -> Actor:
    return make_actor("viewer")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"duration_s": 2}, "duration_s"),
        ({"duration_s": 121}, "duration_s"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 257}, "concurrency"),
        ({"scenario": "bogus"}, "scenario"),
        ({"virtual_server": 999999}, "virtual_server"),
    ],
)
def test_it_refuses_out_of_bounds_values_with_field_errors(
    vs: VirtualServer, operator: Actor, changes: dict[str, object], field: str
) -> None:
    body = {"scenario": "throughput", "virtual_server": vs.pk, "duration_s": 5, "concurrency": 8, **changes}
    answer = operator.client.post("/api/v1/benchmarks/", body, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert not BenchmarkRun.objects.exists()


def test_it_refuses_a_virtual_server_without_a_default_upstream(operator: Actor, db: None) -> None:
    bare = VirtualServer.objects.create(name="bare", http_ports=[18091])
    body = {"scenario": "latency", "virtual_server": bare.pk, "duration_s": 5, "concurrency": 8}
    answer = operator.client.post("/api/v1/benchmarks/", body, format="json")
    assert answer.status_code == 400 and "virtual_server" in answer.json()


def test_a_viewer_reads_runs_but_cannot_start_or_cancel_one(vs: VirtualServer, viewer: Actor) -> None:
    run = BenchmarkRun.objects.create(scenario="latency", virtual_server=vs, target_name=vs.name)
    body = {"scenario": "latency", "virtual_server": vs.pk, "duration_s": 5, "concurrency": 8}
    assert viewer.client.post("/api/v1/benchmarks/", body, format="json").status_code == 403
    assert viewer.client.post(f"/api/v1/benchmarks/{run.pk}/cancel/").status_code == 403
    assert BenchmarkRun.objects.get(pk=run.pk).cancel_requested is False
    listing = viewer.client.get("/api/v1/benchmarks/")
    assert listing.status_code == 200 and listing.json()["count"] == 1


def test_the_list_is_paginated_and_filters_on_status_and_scenario(vs: VirtualServer, viewer: Actor) -> None:
    for scenario, status in [("latency", "succeeded"), ("throughput", "failed"), ("throughput", "succeeded")]:
        BenchmarkRun.objects.create(scenario=scenario, virtual_server=vs, status=status)
    page = viewer.client.get("/api/v1/benchmarks/?status=succeeded&scenario=throughput").json()
    assert page["count"] == 1 and page["results"][0]["scenario"] == "throughput"
    assert set(page) == {"count", "next", "previous", "results"}


def test_a_run_without_a_report_answers_404(vs: VirtualServer, viewer: Actor) -> None:
    run = BenchmarkRun.objects.create(scenario="latency", virtual_server=vs)
    assert viewer.client.get(f"/api/v1/benchmarks/{run.pk}/report/").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"scenario": "tls"}, "virtual_server", "no HTTPS port"),
        ({"scenario": "autoscale"}, "virtual_server", "scaling policy"),
        ({"scenario": "reload", "applies": 51}, "applies", "less than or equal to 50"),
        ({"scenario": "reload", "applies": 0}, "applies", "greater than or equal to 1"),
    ],
)
def test_it_refuses_a_target_that_does_not_fit_the_scenario_with_a_field_error(
    vs: VirtualServer, operator: Actor, changes: dict[str, object], field: str, words: str
) -> None:
    body = {"virtual_server": vs.pk, "duration_s": 5, "concurrency": 8, **changes}
    answer = operator.client.post("/api/v1/benchmarks/", body, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == [field] and words in answer.json()[field][0]
    assert not BenchmarkRun.objects.exists()


def test_a_tls_run_is_bounded_tighter_since_each_handshake_phase_lasts_the_duration(
    vs: VirtualServer, operator: Actor
) -> None:
    VirtualServerTls.objects.create(virtual_server=vs, https_ports=[18443])
    body = {"scenario": "tls", "virtual_server": vs.pk, "duration_s": 31, "concurrency": 8}
    answer = operator.client.post("/api/v1/benchmarks/", body, format="json")
    assert answer.status_code == 400 and list(answer.json()) == ["duration_s"]
    accepted = operator.client.post("/api/v1/benchmarks/", {**body, "duration_s": 30}, format="json")
    assert accepted.status_code == 201, accepted.json()
    assert BenchmarkRun.objects.get().scenario == "tls"


def test_the_ui_form_refuses_the_same_targets_with_a_field_message(vs: VirtualServer, db: None) -> None:
    client = client_with_role("ops", Role.OPERATOR)
    body = {
        "scenario": "autoscale",
        "virtual_server": vs.pk,
        "duration_s": 5,
        "concurrency": 8,
        "applies": 10,
    }
    page = client.post("/benchmarks/add/", body)
    assert page.status_code == 200  # the form again, with the message beside the field
    assert "scaling" in page.context["form"].errors["virtual_server"][0]
    assert 'data-field="applies"' in page.content.decode()
    assert not BenchmarkRun.objects.exists()
