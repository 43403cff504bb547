"""Prometheus finds every pod that asks to be scraped, and the Grafana dashboard ships as a ConfigMap.

The metric names are the data plane's (issue #11: lb_requests_total, lb_request_duration_seconds_bucket,
lb_upstream_server_up); the dashboard test pins them so that a rename has to touch both places.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.charts.manifests import CHARTS, OVERLAYS, containers, find, label, of_kind, pod_template

OBSERVABILITY = CHARTS / "base" / "observability"
DASHBOARD = OBSERVABILITY / "dashboards" / "lb-overview.json"
SCRAPE_CONFIGS = OBSERVABILITY / "prometheus" / "scrape-configs.yaml"
DATA_PLANE_METRICS = {"lb_requests_total", "lb_request_duration_seconds_bucket", "lb_upstream_server_up"}


def _selects(job: dict, namespace: str, labels: dict[str, str]) -> bool:
    (sd,) = job["kubernetes_sd_configs"]
    if namespace not in sd["namespaces"]["names"]:
        return False
    wanted = dict(pair.split("=", 1) for s in sd["selectors"] for pair in s["label"].split(","))
    return wanted.items() <= labels.items()


def _keeps_only_annotated_pods(job: dict) -> bool:
    first = job["relabel_configs"][0]
    return first == {
        "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
        "regex": "true",
        "action": "keep",
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_asking_to_be_scraped_is_found_by_exactly_one_job_on_a_port_it_serves(rendered, overlay):
    jobs = yaml.safe_load(SCRAPE_CONFIGS.read_text())["scrape_configs"]
    assert all(_keeps_only_annotated_pods(job) for job in jobs)
    scraped = []
    for workload in of_kind(rendered[overlay], "Deployment", "StatefulSet"):
        template = pod_template(workload)
        annotations = template["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") != "true":
            continue
        namespace = workload["metadata"]["namespace"]
        matching = [
            job["job_name"] for job in jobs if _selects(job, namespace, template["metadata"]["labels"])
        ]
        assert len(matching) == 1, (label(workload), matching)
        ports = {
            p["containerPort"] for c in containers(template["spec"], init=False) for p in c.get("ports", [])
        }
        assert int(annotations["prometheus.io/port"]) in ports, label(workload)
        assert annotations["prometheus.io/path"] == "/metrics"
        scraped.append(workload["metadata"]["name"])
    expected = {"payment"} if overlay == "multi-cluster" else {"lb-web", "lb-dataplane", "payment"}
    assert set(scraped) == expected


def _expressions(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_dashboard_charts_rate_errors_latency_percentiles_and_upstream_health():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "lb-appliance-overview"
    expressions = _expressions(dashboard)
    used = {name for expr in expressions for name in re.findall(r"\b(lb_[a-z_]+)\b", expr)}
    assert used >= DATA_PLANE_METRICS
    quantiles = {
        float(q) for expr in expressions for q in re.findall(r"histogram_quantile\(([0-9.]+),", expr)
    }
    assert quantiles == {0.5, 0.95, 0.99}
    assert any('status_class="5xx"' in expr and "/" in expr for expr in expressions)
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


@pytest.mark.parametrize(("overlay", "namespace"), [("single-node", "lb-demo"), ("production", "lb-system")])
def test_the_dashboard_and_scrape_config_ship_as_configmaps_grafana_picks_up(rendered, overlay, namespace):
    dashboard = find(rendered[overlay], "ConfigMap", "lb-grafana-dashboard")
    assert dashboard["metadata"]["namespace"] == namespace
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["lb-overview.json"]) == json.loads(DASHBOARD.read_text())
    scrape = find(rendered[overlay], "ConfigMap", "lb-prometheus-scrape")
    assert yaml.safe_load(scrape["data"]["scrape-configs.yaml"]) == yaml.safe_load(SCRAPE_CONFIGS.read_text())
