"""The certificates API: field-level refusals before anything is stored, roles, keys never shown."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from appliance.accounts.roles import Role, set_role
from appliance.core import storage
from appliance.tls.models import Certificate
from tests.tls import pki

HOSTILE = ['a"b', "a;b", "a{b", "$host", "a b", "a\nb", "a#b", "\u0430", "x" * 300, ""]


def _upload(api: APIClient, name: str, chain: str, key: str):  # type: ignore[no-untyped-def]
    return api.post(
        "/api/v1/certificates/upload/", {"name": name, "chain_pem": chain, "private_key": key}, format="json"
    )


@pytest.fixture
def leaf(intermediate):
    return pki.issue(intermediate, ["api.test"])


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("key of another certificate", "private_key"),
        ("chain in the wrong order", "chain_pem"),
        ("expired", "chain_pem"),
        ("not yet valid", "chain_pem"),
        ("RSA 1024", "private_key"),
        ("EC P-521", "private_key"),
        ("key inside the chain field", "chain_pem"),
        ("garbage", "chain_pem"),
        ("no DNS name", "chain_pem"),
    ],
)
def test_bad_pem_is_refused_with_a_field_error_and_nothing_is_stored(api, intermediate, leaf, case, field):
    chain, key = leaf.chain_pem, leaf.key_pem
    if case == "key of another certificate":
        key = pki.issue(intermediate, ["api.test"]).key_pem
    elif case == "chain in the wrong order":
        chain = "".join(reversed(_blocks(leaf.chain_pem)))
    elif case == "expired":
        old = pki.issue(
            intermediate, ["api.test"], start=dt.datetime.now(dt.UTC) - dt.timedelta(days=100), days=10
        )
        chain, key = old.chain_pem, old.key_pem
    elif case == "not yet valid":
        later = pki.issue(intermediate, ["api.test"], start=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
        chain, key = later.chain_pem, later.key_pem
    elif case in ("RSA 1024", "EC P-521"):
        weak = pki.issue(
            intermediate, ["api.test"], key=pki.new_key("rsa1024" if "RSA" in case else "secp521r1")
        )
        chain, key = weak.chain_pem, weak.key_pem
    elif case == "key inside the chain field":
        chain = leaf.chain_pem + leaf.key_pem
    elif case == "garbage":
        chain = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
    elif case == "no DNS name":
        client = pki.issue(intermediate, ["not-a-server"], client=True)
        chain, key = client.chain_pem, client.key_pem
    response = _upload(api, "bad", chain, key)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Certificate.objects.exists()


def _blocks(pem_text: str) -> list[str]:
    marker = "-----END CERTIFICATE-----\n"
    return [part + marker for part in pem_text.split(marker) if part.strip()]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_names_are_refused_everywhere_a_name_goes(api, value):
    generate = api.post(
        "/api/v1/certificates/generate/",
        {"name": "ok", "dns_names": [value], "key_type": "ec-p256"},
        format="json",
    )
    assert generate.status_code == 400 and "dns_names" in generate.json()
    named = api.post(
        "/api/v1/certificates/generate/", {"name": value, "dns_names": ["ok.test"]}, format="json"
    )
    assert named.status_code == 400 and "name" in named.json()
    assert not Certificate.objects.exists()


def test_an_upload_answers_metadata_and_never_the_private_key(api, leaf):
    response = _upload(api, "good", leaf.chain_pem, leaf.key_pem)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["fingerprint"] == leaf.fingerprint
    assert data["dns_names"] == ["api.test"]
    assert data["key_type"] == "ec-p256" and data["chain_length"] == 2
    assert 88 < data["days_left"] <= 90 and data["expiring"] is False
    listed = api.get("/api/v1/certificates/").content + api.get(f"/api/v1/certificates/{data['id']}/").content
    assert b"PRIVATE KEY" not in listed and b"private_key" not in listed
    assert storage.exists("certificates", f"certificates/{data['id']}/{leaf.fingerprint}/chain.pem")


def test_a_self_signed_certificate_is_generated_with_the_requested_key(api):
    body = {"name": "selfie", "dns_names": ["self.test", "*.self.test"], "key_type": "rsa-2048", "days": 30}
    response = api.post("/api/v1/certificates/generate/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["source"] == "self_signed" and data["key_type"] == "rsa-2048"
    assert data["dns_names"] == ["*.self.test", "self.test"] and data["issuer"] == data["subject"]
    renewed = api.post(f"/api/v1/certificates/{data['id']}/renew/")
    assert renewed.status_code == 202 and renewed.json()["fingerprint"] != data["fingerprint"]


def test_a_bound_certificate_cannot_be_deleted(sites, intermediate):
    cert = sites.upload("bound", pki.issue(intermediate, ["bound.test"]))
    sites.site("bound", ["bound.test"], [cert])
    assert sites.api.delete(f"/api/v1/certificates/{cert}/").status_code == 409
    assert Certificate.objects.filter(pk=cert).exists()


def test_tls_binding_refuses_a_port_that_serves_plain_http(sites, intermediate):
    cert = sites.upload("port-cert", pki.issue(intermediate, ["port.test"]))
    site = sites.site("port", ["port.test"], [cert])
    body = {
        "virtual_server": site.binding["virtual_server"],
        "https_ports": [site.http_port],
        "certificates": [cert],
    }
    response = sites.api.patch(f"/api/v1/tls-bindings/{site.binding['id']}/", body, format="json")
    assert response.status_code == 400 and "https_ports" in response.json()
    no_ca = sites.api.patch(
        f"/api/v1/tls-bindings/{site.binding['id']}/", {"client_auth": "required"}, format="json"
    )
    assert no_ca.status_code == 400 and "client_ca_pem" in no_ca.json()


def test_roles_viewers_read_operators_upload_only_admins_manage_acme_accounts(transactional_db, leaf):
    users = get_user_model()
    clients = {}
    for role in (Role.VIEWER, Role.OPERATOR):
        user = users.objects.create_user(role.label, password="x-very-long-password")
        set_role(user, role)
        clients[role] = APIClient()
        clients[role].force_authenticate(user)
    assert clients[Role.VIEWER].get("/api/v1/certificates/").status_code == 200
    assert _upload(clients[Role.VIEWER], "v", leaf.chain_pem, leaf.key_pem).status_code == 403
    assert _upload(clients[Role.OPERATOR], "o", leaf.chain_pem, leaf.key_pem).status_code == 201
    account = {"name": "le", "directory_url": "https://acme.example.test/directory"}
    assert clients[Role.OPERATOR].post("/api/v1/acme-accounts/", account, format="json").status_code == 403
    assert APIClient().get("/api/v1/certificates/").status_code in (401, 403)
