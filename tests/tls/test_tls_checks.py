"""The compiler refuses every hostile or inconsistent TLS value, naming the virtual server it belongs to."""

from __future__ import annotations

import dataclasses

import pytest

from nginx.compiler import CompileError, compile_config
from nginx.model import Snapshot
from nginx.tls import AcmeChallengeSpec, CertificateRef, TlsSpec, UpstreamTls
from tests.tls.tls_golden_cases import CLIENT_CA, SHOP, THUMBPRINT, TOKEN, WILDCARD, _site, _web

HOSTILE = ["a;b", "$host", "a b", "a\nb", 'a"b', "a{b", "\u0430.test", "x" * 300]


def _compile(*sites) -> None:  # type: ignore[no-untyped-def]
    compile_config(Snapshot.build([_web()], list(sites)))


def _refused(field: str, *sites) -> CompileError:  # type: ignore[no-untyped-def]
    with pytest.raises(CompileError) as caught:
        _compile(*sites)
    assert caught.value.obj_kind == "virtual_server"
    assert caught.value.field.startswith(field), caught.value
    return caught.value


def _tls(**changes: object) -> TlsSpec:
    return dataclasses.replace(TlsSpec(https_ports=(8443,), certificates=(SHOP,)), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_certificate_names_are_refused(value):
    ref = CertificateRef(1, "a" * 64, (value,))
    _refused(
        "tls.certificates[0].server_names", _site("shop", ("shop.example.com",), _tls(certificates=(ref,)))
    )


@pytest.mark.parametrize("token", ["short", "a" * 30 + "$", "a" * 30 + "/../x", "a" * 30 + ";"])
def test_acme_tokens_and_key_authorizations_must_be_base64url(token):
    challenge = AcmeChallengeSpec(token, f"{token}.{THUMBPRINT}")
    _refused(
        "tls.acme_challenges", _site("shop", ("shop.example.com",), TlsSpec(acme_challenges=(challenge,)))
    )
    mismatched = AcmeChallengeSpec(TOKEN, f"{'b' * 43}.{THUMBPRINT}")
    _refused(
        "tls.acme_challenges", _site("shop", ("shop.example.com",), TlsSpec(acme_challenges=(mismatched,)))
    )


@pytest.mark.parametrize(
    "bundle",
    [
        CLIENT_CA + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "not pem",
        CLIENT_CA + "$x\n",
    ],
)
def test_pem_bundles_must_be_certificates_only(bundle):
    _refused(
        "tls.client_ca_pem",
        _site("shop", ("shop.example.com",), _tls(client_auth="required", client_ca_pem=bundle)),
    )
    upstream = UpstreamTls(trusted_ca_pem=bundle)
    _refused("tls.upstream.trusted_ca_pem", _site("shop", ("shop.example.com",), _tls(upstream=upstream)))


def test_a_port_serves_either_http_or_https():
    own = _site("shop", ("shop.example.com",), _tls(https_ports=(8080,)))
    _refused("tls.https_ports", own)
    other = _site("api", ("api.example.com",), _tls(https_ports=(9000,)))
    plain = _site("old", ("old.example.com",), TlsSpec(), http_ports=(9000,))
    _refused("tls.https_ports", other, plain)


def test_https_needs_a_certificate_and_redirect_needs_https():
    _refused("tls.certificates", _site("shop", ("shop.example.com",), _tls(certificates=())))
    _refused("tls.redirect_http", _site("shop", ("shop.example.com",), TlsSpec(redirect_http=True)))


def test_one_name_per_https_port_across_sites_including_a_catch_all_s_sni_names():
    first = _site("a", ("a.example.org",), _tls(certificates=(WILDCARD,)))
    second = _site("b", ("a.example.org",), _tls(certificates=(WILDCARD,)), http_ports=(8081,))
    _refused("hostnames", first, second)
    catch_all = _site("c", (), _tls(certificates=(SHOP, WILDCARD)), http_ports=(8082,))
    wildcard_site = _site("d", ("*.example.org",), _tls(certificates=(WILDCARD,)), http_ports=(8083,))
    _refused("hostnames", catch_all, wildcard_site)


def test_hsts_and_client_auth_are_bounded_choices():
    _refused("tls.hsts_max_age_s", _site("shop", ("shop.example.com",), _tls(hsts_max_age_s=10**9)))
    _refused("tls.client_auth", _site("shop", ("shop.example.com",), _tls(client_auth="sometimes")))
    _refused(
        "tls.ocsp_resolvers", _site("shop", ("shop.example.com",), _tls(ocsp_resolvers=("dns.example",)))
    )
