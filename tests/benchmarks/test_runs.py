"""Benchmark runs over the API, executed by the real Celery worker against the real nginx data plane."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from appliance.audit.models import AuditEvent
from appliance.benchmarks.models import BenchmarkRun
from appliance.benchmarks.scenarios import listening_pids
from appliance.core import storage
from appliance.health.models import HealthCheck
from appliance.launcher.stack import Stack
from appliance.lb.models import Server, Upstream, VirtualServer
from tests.api.conftest import Actor
from tests.benchmarks.conftest import wait_status, wrk_pids
from tests.integration.conftest import Pools
from tests.support.lb import free_port, wait_until

pytestmark = pytest.mark.stack


def test_a_throughput_run_produces_a_report_in_the_bucket_served_through_the_api(
    target: VirtualServer, operator: Actor
) -> None:
    answer = operator.client.post(
        "/api/v1/benchmarks/",
        {"scenario": "throughput", "virtual_server": target.pk, "duration_s": 3, "concurrency": 8},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["status"] == "queued"
    run = wait_status(answer.json()["id"], {"succeeded", "failed"}, 90)
    assert run.status == "succeeded", run.error
    assert run.progress == 100
    assert storage.exists("reports", run.report_key) and storage.exists("reports", run.results_key)
    assert set(run.figures) >= {
        "throughput.lb_over_direct",
        "throughput.lb_over_haproxy",
        "latency.p99_added_ms",
    }
    assert run.figures["throughput.lb_rps"] > 0 and run.figures["throughput.haproxy_rps"] > 0

    report = operator.client.get(f"/api/v1/benchmarks/{run.pk}/report/")
    assert report.status_code == 200
    assert report["Content-Type"].startswith("text/html")
    assert "sandbox" in report["Content-Security-Policy"]
    html = report.content.decode()
    assert '<svg class="chart"' in html and 'class="point"' in html
    assert "X-Amz-" not in html and storage.bucket("reports") not in html  # no link to the object store
    results = json.loads(operator.client.get(f"/api/v1/benchmarks/{run.pk}/results/").content)
    assert {s["target"] for s in results["samples"]} == {"direct", "lb", "haproxy", "haproxy_bare"}
    assert "balance roundrobin" in results["config"]["haproxy.cfg"]

    pdf = operator.client.get(f"/api/v1/benchmarks/{run.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment") and pdf.content.startswith(b"%PDF-")
    assert storage.exists("reports", run.pdf_key)

    detail = operator.client.get(f"/api/v1/benchmarks/{run.pk}/").json()
    assert detail["has_pdf"] is True
    assert detail["has_report"] is True and detail["created_by"] == operator.user.get_username()  # type: ignore[attr-defined]
    assert AuditEvent.objects.filter(action="create", object_type="benchmarks.benchmarkrun").exists()


def test_cancelling_a_running_run_stops_wrk(target: VirtualServer, operator: Actor) -> None:
    answer = operator.client.post(
        "/api/v1/benchmarks/",
        {"scenario": "latency", "virtual_server": target.pk, "duration_s": 60, "concurrency": 4},
        format="json",
    )
    run_id, port = answer.json()["id"], target.http_ports[0]
    wait_until(lambda: wrk_pids(port), 30, "wrk running against the target")
    assert BenchmarkRun.objects.get(pk=run_id).status == "running"

    cancelled = operator.client.post(f"/api/v1/benchmarks/{run_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"] is True
    run = wait_status(run_id, {"cancelled", "succeeded", "failed"}, 15)
    assert run.status == "cancelled"
    assert wrk_pids(port) == []
    assert not run.report_key
    assert AuditEvent.objects.filter(action="cancel", object_id=str(run_id)).exists()


def test_a_queued_run_is_cancelled_at_once(target: VirtualServer, operator: Actor) -> None:
    run = BenchmarkRun.objects.create(scenario="latency", virtual_server=target, target_name=target.name)
    answer = operator.client.post(f"/api/v1/benchmarks/{run.pk}/cancel/")
    assert answer.json()["status"] == "cancelled"


def _state(pid: int) -> str:
    """The process state letter from /proc (`T` = stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_failover_run_freezes_one_server_and_always_resumes_it(pools: Pools, operator: Actor) -> None:
    backends = [pools.backend("f0"), pools.backend("f1")]
    pools.pool("fo", backends)
    check = HealthCheck(
        upstream=Upstream.objects.get(name="fo"), interval_s=1, timeout_ms=300, rise=1, fall=1
    )
    check.full_clean()
    check.save()
    target = VirtualServer.objects.get(name="vs-fo")
    answer = operator.client.post(
        "/api/v1/benchmarks/",
        {"scenario": "failover", "virtual_server": target.pk, "duration_s": 8, "concurrency": 4},
        format="json",
    )
    run = wait_status(answer.json()["id"], {"succeeded", "failed"}, 60)
    assert run.status == "succeeded", run.error
    results = json.loads(operator.client.get(f"/api/v1/benchmarks/{run.pk}/results/").content)
    labels = [e["label"] for e in results["events"]]
    assert labels[0].endswith("(SIGSTOP) failed") and any(label.endswith("restored") for label in labels)
    frozen = results["config"]["frozen_pids"]
    assert frozen and all(_state(pid) != "T" for pid in frozen)  # resumed, not left stopped
    assert "failover.detect_s" in run.figures and "failover.client_errors" in run.figures


def test_a_failover_run_refuses_to_freeze_the_appliance_itself(operator: Actor, dataplane: Stack) -> None:
    # A server pointed at the data plane's own status listener: freezing it would freeze nginx.
    port = urlsplit(dataplane.nodes[0].status_url).port
    upstream = Upstream.objects.create(name="own")
    Server.objects.create(upstream=upstream, address="127.0.0.1", port=port)
    target = VirtualServer.objects.create(name="own", http_ports=[free_port()], default_upstream=upstream)
    answer = operator.client.post(
        "/api/v1/benchmarks/",
        {"scenario": "failover", "virtual_server": target.pk, "duration_s": 5, "concurrency": 2},
        format="json",
    )
    run = wait_status(answer.json()["id"], {"succeeded", "failed"}, 30)
    assert run.status == "failed" and "will not freeze" in run.error
    assert all(_state(pid) != "T" for pid in listening_pids(port))
