"""ACME end to end against Debian's pebble: HTTP-01 answered by the data plane, issuance, renewal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from appliance.tls import services
from appliance.tls.models import AcmeOrder, Certificate
from tests.support.lb import free_port, wait_until
from tests.tls.client import fetch
from tests.tls.pebble import Pebble


@pytest.fixture
def pebble(tmp_path, dataplane) -> Iterator[Pebble]:
    ca = Pebble(tmp_path, http_port=free_port()).start()
    yield ca
    ca.stop()


def _issued(cert_id: int, other_than: str = "") -> Certificate | None:
    cert = Certificate.objects.get(pk=cert_id)
    if cert.status == "failed":
        raise AssertionError(f"issuance failed: {cert.last_error}")
    return cert if cert.status == "valid" and cert.fingerprint != other_than else None


def test_acme_issues_over_http01_served_by_the_data_plane_and_renews(sites, pebble):
    api = sites.api
    account = api.post(
        "/api/v1/acme-accounts/",
        {"name": "pebble", "directory_url": pebble.directory_url, "ca_bundle_pem": pebble.ca_pem},
        format="json",
    )
    assert account.status_code == 201, account.json()
    backend = sites.backend("acme")
    site = sites.site_without_tls("acme", ["acme.test", "www.acme.test"], backend, http_port=pebble.http_port)
    request = {
        "name": "acme-cert",
        "domains": ["acme.test", "www.acme.test"],
        "acme_account": account.json()["id"],
        "virtual_server": site,
    }
    response = api.post("/api/v1/certificates/acme/", request, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    cert_id = response.json()["id"]
    https_port = free_port()
    binding = {"virtual_server": site, "https_ports": [https_port], "certificates": [cert_id]}
    assert api.post("/api/v1/tls-bindings/", binding, format="json").status_code == 201

    issued = wait_until(lambda: _issued(cert_id), 90, "the ACME certificate", interval=0.5)
    assert issued.dns_names == ["acme.test", "www.acme.test"]
    assert "Pebble" in issued.issuer and issued.chain_length >= 2
    assert not AcmeOrder.objects.get(certificate_id=cert_id).challenges.exists()
    sites.wait()
    served = fetch(https_port, "www.acme.test")
    assert served.fingerprint == issued.fingerprint and served.status == 200
    assert backend.hits() >= 1

    # Renewal: decide as if two thirds of the lifetime had passed.
    assert services.renew_due(now=issued.not_before) == []
    assert services.renew_due(now=issued.renew_after + dt.timedelta(seconds=1)) == [cert_id]
    renewed = wait_until(lambda: _issued(cert_id, other_than=issued.fingerprint), 90, "the renewal", 0.5)
    sites.wait()
    assert fetch(https_port, "acme.test", path=None).fingerprint == renewed.fingerprint
    assert AcmeOrder.objects.filter(certificate_id=cert_id, status="valid").count() == 2


def test_a_challenge_the_data_plane_cannot_answer_fails_the_order_with_the_reason(sites, pebble):
    account = sites.api.post(
        "/api/v1/acme-accounts/",
        {"name": "pebble", "directory_url": pebble.directory_url, "ca_bundle_pem": pebble.ca_pem},
        format="json",
    ).json()
    # The virtual server answers on another port than the one pebble validates on.
    site = sites.site_without_tls(
        "elsewhere", ["elsewhere.test"], sites.backend("elsewhere"), http_port=free_port()
    )
    request = {
        "name": "nope",
        "domains": ["elsewhere.test"],
        "acme_account": account["id"],
        "virtual_server": site,
    }
    cert_id = sites.api.post("/api/v1/certificates/acme/", request, format="json").json()["id"]

    def failed():  # type: ignore[no-untyped-def]
        cert = Certificate.objects.get(pk=cert_id)
        return cert if cert.status == "failed" else None

    cert = wait_until(failed, 90, "the order to fail", interval=0.5)
    assert cert.last_error.startswith("validation failed: elsewhere.test:"), cert.last_error
    assert AcmeOrder.objects.get(certificate_id=cert_id).status == "invalid"
