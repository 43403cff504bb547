"""`/healthz` and `/readyz` of the web app, against the real stack."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.test import Client, override_settings

from tests.support.lb import free_port


def fetch(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_healthz_answers_without_authentication(web):
    assert fetch(web + "/healthz") == (200, {"status": "ok"})


def test_readyz_reports_every_dependency_healthy(web):
    status, body = fetch(web + "/readyz")
    assert status == 200, body
    assert set(body["checks"]) == {"database", "redis", "object_storage", "nginx", "worker"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def test_readyz_names_the_dependency_that_is_down(dataplane, transactional_db):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(CELERY_BROKER_URL=dead):
        response = Client().get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["status"] == "down" and "Connection" in checks["redis"]["error"]
    assert checks["database"]["status"] == "ok"


def test_the_api_refuses_anonymous_requests(web):
    try:
        urllib.request.urlopen(web + "/api/v1/upstreams/", timeout=5)
        raise AssertionError("anonymous request was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code in (401, 403)
