"""Certificate pages: the list's columns, upload/generate/ACME through the API's rules, keys never shown,
deletion refused while a virtual server uses it, and HTTPS attached to a virtual server.

Uploads and generated keys go to the session's real S3 server (object storage), as over the API.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from appliance.audit.models import AuditEvent
from appliance.lb.models import VirtualServer
from appliance.tls.models import AcmeAccount, AcmeOrder, Certificate, VirtualServerTls
from tests.tls import pki
from tests.webui.conftest import generation


@pytest.fixture(scope="module")
def ca() -> pki.Issued:
    return pki.make_ca("LB UI test CA")


def names_listed(client, **query) -> list[str]:  # type: ignore[no-untyped-def]
    return [cert.name for cert in client.get("/certificates/", query).context["page"]]


def test_the_list_shows_names_issuer_expiry_key_and_users(viewer, sample):
    Certificate.objects.create(
        name="soon", source="uploaded", status="valid", not_after=timezone.now() + dt.timedelta(days=3)
    )
    response = viewer.get("/certificates/")
    html = response.content.decode()
    rows = {cert.name: cert for cert in response.context["page"]}
    assert set(rows) == {"site-cert", "soon"}
    assert rows["soon"].expiring and not rows["site-cert"].expiring
    assert 89 < rows["site-cert"].days_left <= 90
    for text in ("www.site.test", "CN=site.test", "ec-p256", ">site</a>", "expiring"):
        assert text in html, text


def test_the_list_searches_by_name_and_by_dns_name(viewer, sample):
    assert names_listed(viewer, q="www.site.test") == ["site-cert"]
    assert names_listed(viewer, q="site-c") == ["site-cert"]
    assert names_listed(viewer, q="nothing.test") == []


def test_the_detail_names_the_virtual_servers_using_it(viewer, sample):
    html = viewer.get(f"/certificates/{sample.certificate.pk}/").content.decode()
    assert f'href="/virtual-servers/{sample.virtual_server.pk}/">site</a>' in html
    assert "never shown" in html and "Renew now" not in html and "Delete certificate" not in html


def test_an_uploaded_certificate_is_listed_and_its_key_never_shown(operator, ca, db):
    issued = pki.issue(ca, ["shop.test"])
    data = {"name": "shop", "chain_pem": issued.chain_pem, "private_key": issued.key_pem}
    response = operator.post("/certificates/upload/", data)
    cert = Certificate.objects.get(name="shop")
    assert response.status_code == 302 and response["Location"] == f"/certificates/{cert.pk}/"
    assert cert.dns_names == ["shop.test"] and cert.status == "valid"
    assert AuditEvent.objects.filter(action="create", object_id=str(cert.pk)).exists()
    assert names_listed(operator) == ["shop"]
    key_body = issued.key_pem.splitlines()[1]
    for page in ("/certificates/", f"/certificates/{cert.pk}/"):
        assert key_body not in operator.get(page).content.decode()


def test_a_key_that_does_not_match_is_refused_next_to_the_key_and_not_echoed(operator, ca, db):
    issued, other = pki.issue(ca, ["shop.test"]), pki.issue(ca, ["shop.test"])
    data = {"name": "shop", "chain_pem": issued.chain_pem, "private_key": other.key_pem}
    response = operator.post("/certificates/upload/", data)
    errors = response.context["form"].errors
    assert response.status_code == 200 and list(errors) == ["private_key"]
    assert other.key_pem.splitlines()[1] not in response.content.decode()
    assert issued.chain_pem.splitlines()[1] in response.content.decode()  # the chain is kept for a retry
    response = operator.post("/certificates/upload/", {**data, "chain_pem": "garbage"})
    assert "chain_pem" in response.context["form"].errors
    assert not Certificate.objects.filter(name="shop").exists()


def test_generating_a_certificate_lists_it_and_names_a_bad_dns_name(operator, sample):
    data = {"name": "gen", "dns_names": "ok.test, bad host;", "key_type": "ec-p256", "days": 30}
    errors = operator.post("/certificates/generate/", data).context["form"].errors
    assert list(errors) == ["dns_names"] and errors["dns_names"][0].startswith("Item 2:")
    errors = operator.post("/certificates/generate/", {**data, "name": "site-cert"}).context["form"].errors
    assert list(errors) == ["name", "dns_names"]
    response = operator.post("/certificates/generate/", {**data, "dns_names": "ok.test, *.ok.test"})
    cert = Certificate.objects.get(name="gen")
    assert response.status_code == 302 and cert.source == "self_signed"
    assert (
        sorted(cert.dns_names) == ["*.ok.test", "ok.test"]
        and 29 <= (cert.not_after - timezone.now()).days <= 30
    )
    assert "gen" in names_listed(operator)


def test_requesting_an_acme_certificate_needs_an_account_and_starts_an_order(operator, sample):
    data = {"name": "acme-shop", "domains": "shop.test", "virtual_server": sample.virtual_server.pk}
    data["key_type"] = "ec-p256"
    response = operator.post("/certificates/acme/", data)
    assert "acme_account" in response.context["form"].errors
    account = AcmeAccount.objects.create(name="pebble", directory_url="https://127.0.0.1:14000/dir")
    assert "pebble" in operator.get("/certificates/acme/").content.decode()
    response = operator.post("/certificates/acme/", {**data, "acme_account": account.pk})
    cert = Certificate.objects.get(name="acme-shop")
    assert response.status_code == 302 and cert.status == "pending" and cert.acme_domains == ["shop.test"]
    assert AcmeOrder.objects.filter(certificate=cert).count() == 1
    assert names_listed(operator, status="pending") == ["acme-shop"]


def test_a_certificate_in_use_cannot_be_deleted_and_an_unused_one_can(operator, sample):
    response = operator.post(f"/certificates/{sample.certificate.pk}/delete/")
    assert response.status_code == 409 and "virtual server site" in response.content.decode()
    spare = Certificate.objects.create(name="spare", source="uploaded")
    assert "Delete spare" in operator.get(f"/certificates/{spare.pk}/delete/").content.decode()
    before = generation()
    assert operator.post(f"/certificates/{spare.pk}/delete/")["Location"] == "/certificates/"
    assert not Certificate.objects.filter(pk=spare.pk).exists() and generation() == before + 1


def test_a_viewer_sees_no_certificate_buttons_and_cannot_upload(viewer, ca, sample):
    html = viewer.get("/certificates/").content.decode()
    assert "Upload certificate" not in html and "Generate self-signed" not in html
    issued = pki.issue(ca, ["shop.test"])
    data = {"name": "shop", "chain_pem": issued.chain_pem, "private_key": issued.key_pem}
    assert viewer.post("/certificates/upload/", data).status_code == 403
    assert viewer.post("/certificates/generate/", {"name": "x", "dns_names": "x.test"}).status_code == 403
    assert not Certificate.objects.filter(name__in=["shop", "x"]).exists()


def test_https_is_attached_to_a_virtual_server_and_shown_on_its_page(operator, sample):
    shop = VirtualServer.objects.create(name="shop", http_ports=[8081])
    spare = Certificate.objects.create(name="spare", source="uploaded", dns_names=["spare.test"])
    url = f"/virtual-servers/{shop.pk}/tls/"
    data = {
        "https_ports": "8081",
        "default_certificate": spare.pk,
        "client_auth": "none",
        "hsts_max_age_s": 0,
    }
    errors = operator.post(url, data).context["form"].errors
    assert errors["https_ports"] == ["port 8081 is already an HTTP port of this virtual server"]
    before = generation()
    data |= {"https_ports": "9443", "more_certificates": [sample.certificate.pk], "redirect_http": "on"}
    assert operator.post(url, data).status_code == 302
    binding = VirtualServerTls.objects.get(virtual_server=shop)
    assert binding.https_ports == [9443] and binding.redirect_http and generation() == before + 1
    assert [p.certificate.name for p in binding.positions.all()] == ["spare", "site-cert"]
    html = operator.get(f"/virtual-servers/{shop.pk}/").content.decode()
    assert "9443" in html and html.index(">spare</a>") < html.index(">site-cert</a>")
    assert operator.get(url).context["form"]["https_ports"].value() == "9443"


def test_a_new_version_replaces_the_certificate_and_marks_its_users(operator, ca, sample):
    url = f"/certificates/{sample.certificate.pk}/upload/"
    issued, other = pki.issue(ca, ["site.test", "new.site.test"]), pki.issue(ca, ["site.test"])
    response = operator.post(url, {"chain_pem": issued.chain_pem, "private_key": other.key_pem})
    assert list(response.context["form"].errors) == ["private_key"]
    before = generation()
    response = operator.post(url, {"chain_pem": issued.chain_pem, "private_key": issued.key_pem})
    cert = Certificate.objects.get(pk=sample.certificate.pk)
    assert response.status_code == 302 and cert.source == "uploaded"
    assert "new.site.test" in cert.dns_names and generation() == before + 1


def test_admins_manage_acme_accounts_and_others_only_read_them(admin, operator, viewer, sample):
    data = {"name": "le", "directory_url": "not a url", "email": "ops@example.test"}
    assert "directory_url" in admin.post("/acme-accounts/add/", data).context["form"].errors
    data["directory_url"] = "https://acme-v02.api.letsencrypt.org/directory"
    assert operator.post("/acme-accounts/add/", data).status_code == 403
    assert admin.post("/acme-accounts/add/", data)["Location"] == "/acme-accounts/"
    assert AuditEvent.objects.filter(action="create", object_type="tls.acmeaccount").count() == 1
    listed = viewer.get("/acme-accounts/", {"q": "letsencrypt"})
    assert [a.name for a in listed.context["page"]] == [
        "le"
    ] and "New ACME account" not in listed.content.decode()
    Certificate.objects.create(name="ordered", source="acme", acme_account=sample.acme_account)
    response = admin.post(f"/acme-accounts/{sample.acme_account.pk}/delete/")
    assert response.status_code == 409 and "ordered" in response.content.decode()
