"""The web app's /metrics: who may read it, and figures computed from the shared database and Redis."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from appliance.accounts import tokens
from appliance.accounts.roles import Role, set_role
from tests.observability.conftest import fetch, promtool_check, samples, select
from tests.support.lb import spread, wait_until


def _token() -> str:
    user = get_user_model().objects.create_user("metrics-reader")
    set_role(user, Role.VIEWER)
    return tokens.issue(user, Role.VIEWER, "prometheus")[1]


@pytest.mark.django_db
@override_settings(LB_METRICS_ALLOW_CIDRS=[])
def test_outside_the_allowed_networks_it_takes_an_api_token():
    token = _token()
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 401
    assert (
        Client(REMOTE_ADDR="10.1.2.3")
        .get("/metrics", HTTP_AUTHORIZATION="Bearer lb_0123456789_" + "x" * 43)
        .status_code
        == 401
    )
    answer = Client(REMOTE_ADDR="10.1.2.3").get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200
    assert b"# TYPE lb_config_latest_revision gauge" in answer.content


@pytest.mark.django_db
def test_loopback_may_read_it_but_not_through_a_proxy():
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    proxied = Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert proxied.status_code == 401


def test_the_figures_come_from_the_whole_appliance_and_pass_promtool(pools, web, promtool):
    url = pools.pool("obs-cp", [pools.backend("obs-cp1")])
    spread(url, 10)
    revision = pools.wait()

    def scraped():  # type: ignore[no-untyped-def]
        status, content_type, body = fetch(web + "/metrics")
        parsed = samples(body)
        tasks = select(
            parsed, "lb_celery_tasks_total", task="workers.metrics.scrape_nodes", outcome="succeeded"
        )
        scrapes = select(parsed, "lb_dataplane_scrapes_total", node="node1", outcome="ok")
        return (status, content_type, body, parsed) if tasks and scrapes else None

    # Task outcomes are counted by the worker's signal receivers; the web app reads them from Redis.
    status, content_type, body, parsed = wait_until(scraped, 20, "a scrape of node1 counted")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    check = promtool_check(body)
    assert check.returncode == 0, check.stdout + check.stderr
    assert select(parsed, "lb_config_latest_revision") == {frozenset(): revision.number}
    assert select(parsed, "lb_node_live_revision", node="node1") == {
        frozenset({("node", "node1")}): revision.number
    }
    applied = select(parsed, "lb_config_applies_total", node="node1", status="applied")
    assert next(iter(applied.values())) >= 1
    durations = select(parsed, "lb_config_apply_duration_seconds_count", node="node1")
    assert next(iter(durations.values())) >= 1
    server = f"127.0.0.1:{pools.started[0].port}"
    assert select(parsed, "lb_upstream_server_up", upstream="obs-cp", server=server) != {}
    assert next(iter(select(parsed, "lb_upstream_server_up", upstream="obs-cp").values())) == 1
    assert select(parsed, "lb_celery_queue_length", queue="control") != {}
    sections = select(parsed, "lb_metrics_section_up")
    assert sections and all(value == 1 for value in sections.values()), sections
