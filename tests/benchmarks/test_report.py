"""Report building: the wrk Lua reporter (real wrk against a real backend), merging slices, the HTML."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.harness import Backend, free_port
from loadtests.load import REPORTER, Load, Sample, merge, parse_report, summarize, weighted_percentile
from loadtests.peers import PeerServer, haproxy_config
from loadtests.report import Event, Report, render_html

CAPTURED = """Running 1s test @ http://127.0.0.1:9/
  2 threads and 4 connections
  Requests/sec:  10.00
WRK_REPORT {"duration_us":1000000,"requests":10,"bytes":900,"errors":{"connect":0,"read":1,"write":0,\
"timeout":0,"status":2},"statuses":{"200":8,"503":2},"latency_us":{"min":100,"max":900,"mean":300.0,\
"p50":250,"p90":800,"p99":900,"p99.9":900},"quantiles_us":[[50,250],[90,800],[100,900]]}
"""


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    started = Backend("unit", free_port(), tmp_path_factory.mktemp("logs")).start()
    yield started
    started.stop()


def test_the_lua_reporter_counts_answers_by_status_and_reports_ordered_percentiles(backend: Backend) -> None:
    url = f"http://127.0.0.1:{backend.port}/__status/503"
    argv = ["wrk", "-t1", "-c2", "-d1s", "-s", str(REPORTER), url]
    report = parse_report(subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout)
    assert report is not None
    assert report["requests"] > 0
    assert report["statuses"] == {"503": report["requests"]}
    assert report["errors"]["status"] == report["requests"]  # wrk counts non-2xx/3xx as status errors
    lat = report["latency_us"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]
    quantiles = [q for q, _ in report["quantiles_us"]]
    assert quantiles[0] == 1 and quantiles[-1] == 100 and quantiles == sorted(quantiles)


def test_it_parses_a_captured_report_and_ignores_other_output() -> None:
    report = parse_report(CAPTURED)
    assert report is not None and report["statuses"] == {"200": 8, "503": 2}
    assert parse_report("unable to connect to 127.0.0.1:9 Connection refused\n") is None


def test_a_slice_that_could_not_connect_counts_every_connection_as_a_connect_error() -> None:
    sample = merge("direct", 0.0, 1.0, [parse_report(CAPTURED), None], connections=4)
    assert sample.requests == 10
    assert sample.errors == {"connect": 4, "read": 1, "write": 0, "timeout": 0, "status": 2}
    assert sample.latency_ms["max"] == 0.9


def test_merged_percentiles_weight_each_run_by_its_requests() -> None:
    fast = [[q, 1000.0] for q in range(1, 101)]
    slow = [[q, 9000.0] for q in range(1, 101)]
    assert weighted_percentile([(90, fast), (10, slow)], 50) == 1000.0
    assert weighted_percentile([(90, fast), (10, slow)], 95) == 9000.0
    assert weighted_percentile([], 99) == 0.0


def test_a_load_against_a_closed_port_reports_connect_errors_not_requests() -> None:
    load = Load({"nothing": [f"http://127.0.0.1:{free_port()}/"]}, connections=2)
    sample = load.slice("nothing")
    assert sample.requests == 0 and sample.errors["connect"] == 2
    assert summarize(load.samples)["error_count"] == 2


def test_load_is_only_sent_to_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Load({"x": ["http://10.0.0.1/"]}, 2).slice("x")


def _sample(target: str, t: float, rps: int, p99: float, errors: int = 0) -> Sample:
    sample = Sample(target, t, 1.0, requests=rps, bytes=rps * 100)
    sample.errors["read"] = errors
    sample.latency_ms = {"p50": p99 / 4, "p90": p99 / 2, "p99": p99, "p99.9": p99 * 2, "max": p99 * 3}
    sample.quantiles_us = [[q, p99 * 10 * q] for q in range(1, 101)]
    return sample


def test_the_html_report_draws_one_point_per_sample_and_marks_events(tmp_path: Path) -> None:
    samples = [
        _sample(t, float(i), 1000 + i, 2.0 + i, errors=i % 2) for i in range(6) for t in ("lb", "direct")
    ]
    report = Report(
        "failover",
        "Unit <report>",
        figures={"failover.detect_s": 1.5},
        config={"connections": 4},
        samples=samples,
        summaries={"lb": summarize([s for s in samples if s.target == "lb"])},
        events=[Event(2.0, "backend killed"), Event(4.0, "backend restored")],
        machine={"cpus": 2},
    )
    json_path, html_path, pdf_path = report.write(tmp_path, "unit")
    assert pdf_path.read_bytes().startswith(b"%PDF-") and pdf_path.stat().st_size > 10_000  # a printed page
    html = html_path.read_text()
    charts = re.findall(r'<svg class="chart".*?</svg>', html, flags=re.S)
    assert len(charts) == 4  # throughput, p50, p99, errors
    for chart in charts:
        assert chart.count('class="point"') == len(samples)  # two series of six points
        assert chart.count('class="event"') == 2
        assert 'data-series="lb"' in chart and 'data-series="direct"' in chart
    assert "Unit &lt;report&gt;" in html
    assert "<script" not in html and not re.search(r"\b(src|href)=", html)  # self-contained
    results = json.loads(json_path.read_text())
    assert results["figures"] == {"failover.detect_s": 1.5}
    assert [e["label"] for e in results["events"]] == ["backend killed", "backend restored"]
    assert results["summaries"]["lb"]["requests"] == sum(1000 + i for i in range(6))


def test_a_report_without_samples_says_so_and_draws_its_timeline() -> None:
    empty = render_html(Report("tls", "empty", figures={"tls.handshakes_per_s": 250}, machine={}).results())
    assert '<svg class="chart"' not in empty and "No per-second samples" in empty and "250" in empty
    rows = [{"t": t, "replicas": 2 + t // 3, "offered": 10 * t, "answered": 9 * t} for t in range(9)]
    layout = [("Load", ["offered", "answered"], "requests/s"), ("Replicas", ["replicas"], "count")]
    report = Report("autoscale", "ramp", timeline=rows, timeline_charts=layout, machine={})
    charts = re.findall(r'<svg class="chart".*?</svg>', render_html(report.results()), flags=re.S)
    assert [c.count('class="point"') for c in charts] == [18, 9]


def test_the_haproxy_config_mirrors_the_upstream() -> None:
    servers = [PeerServer("127.0.0.1", 9001, 3), PeerServer("127.0.0.1", 9002, 1, backup=True)]
    config = haproxy_config(8080, servers, "least_conn", connect_timeout_ms=700, read_timeout_s=5, retries=3)
    assert "balance leastconn" in config and "http-reuse always" in config
    assert "server s0 127.0.0.1:9001 weight 3\n" in config
    assert "server s1 127.0.0.1:9002 weight 1 backup\n" in config
    assert "timeout connect 700ms" in config and "timeout server 5s" in config and "retries 2" in config
    # The per-request work of our data plane: request ID, forwarded headers, a JSON access-log line.
    assert "unique-id-header X-Request-ID" in config and "option forwardfor" in config
    assert "X-Forwarded-Proto" in config and "X-Forwarded-Host" in config and '"request_id":"%ID"' in config
    bare = haproxy_config(8080, servers, bare=True)
    assert "unique-id" not in bare and "log" not in bare and "forwardfor" not in bare
    for text in (config, bare):
        checked = subprocess.run(["haproxy", "-c", "-q", "-f", "/dev/stdin"], input=text, text=True)
        assert checked.returncode == 0
