"""A real Prometheus (Debian's package, started here on a free port) scrapes both /metrics endpoints."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.observability.conftest import fetch
from tests.support.lb import free_port, spread, wait_until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: lb-data-plane
    static_configs: [{{targets: ["{node}"]}}]
  - job_name: lb-control-plane
    static_configs: [{{targets: ["{web}"]}}]
"""


@pytest.fixture
def prometheus(pools, web: str, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: apt-get install -y prometheus")
    node = pools.status_urls[0].split("//", 1)[1]
    (tmp_path / "prometheus.yml").write_text(CONFIG.format(node=node, web=web.split("//", 1)[1]))
    port = free_port()
    with (tmp_path / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(url + "/-/ready"), 30, "Prometheus to be ready", interval=0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(url: str) -> bool:
    try:
        return fetch(url)[0] == 200
    except OSError:
        return False


def query(prometheus: str, expr: str) -> list[dict]:  # type: ignore[type-arg]
    status, _, body = fetch(f"{prometheus}/api/v1/query?query={urllib.parse.quote(expr)}")
    assert status == 200, body
    return json.loads(body)["data"]["result"]  # type: ignore[no-any-return]


def test_prometheus_scrapes_both_endpoints_and_answers_a_rate_query(pools, prometheus):
    url = pools.pool("obs-prom", [pools.backend("obs-prom1")])
    wait_until(
        lambda: (
            {r["metric"]["job"] for r in query(prometheus, "up == 1")}
            >= {"lb-data-plane", "lb-control-plane"}
        ),
        20,
        "both targets up",
        interval=0.5,
    )
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:  # ~6 s of traffic, so that several scrapes see the counter grow
        spread(url, 20, threads=2)
        time.sleep(0.2)
    expr = 'sum(rate(lb_requests_total{upstream="obs-prom",status_class="2xx"}[5s]))'
    result = wait_until(lambda: [r for r in query(prometheus, expr) if float(r["value"][1]) > 0], 15, expr)
    assert float(result[0]["value"][1]) > 1
    revisions = query(prometheus, 'lb_config_latest_revision{job="lb-control-plane"}')
    assert int(float(revisions[0]["value"][1])) == pools.wait().number
    assert_dashboard_queries_work(prometheus, "obs-prom")


def assert_dashboard_queries_work(prometheus: str, upstream: str) -> None:
    """Every expression of the shipped Grafana dashboard is valid PromQL; the traffic panels see traffic."""
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    with_data = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$upstream", upstream).replace("$__rate_interval", "10s")
            if query(prometheus, expr):
                with_data.add(panel["title"])
    assert {
        "Requests per second",
        "Latency p50 / p95 / p99",
        "Tries per server",
        "Servers in rotation",
    } <= with_data


def test_the_shipped_prometheus_configuration_is_valid(promtool):
    result = subprocess.run(
        [promtool, "check", "config", str(DEPLOY / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
