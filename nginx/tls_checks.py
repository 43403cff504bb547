"""Allow-list checks for everything TLS adds to a snapshot, reported like `nginx.checks` errors.

Every error names the virtual server it belongs to, so the control plane can show it on the right object
or leave that virtual server out and compile the rest. The Django layer validates the same values with
field-level messages before they are stored (`appliance.tls.validators`); this is defence in depth.
"""

from __future__ import annotations

import re

from nginx import validation as v
from nginx.checks import Collector, CompileError
from nginx.model import Snapshot, VirtualServerSpec
from nginx.tls import (
    CLIENT_AUTH,
    HSTS_MAX_AGE_S,
    AcmeChallengeSpec,
    CertificateRef,
    TlsSpec,
    UpstreamTls,
    sni_groups,
)

_FINGERPRINT_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
# RFC 8555: tokens are base64url (at least 128 bits); a key authorization is token "." thumbprint.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{22,128}", re.ASCII)
_KEY_AUTHORIZATION_RE = re.compile(r"[A-Za-z0-9_-]{22,128}\.[A-Za-z0-9_-]{43}", re.ASCII)
_PEM_BLOCK = r"-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/]{1,64}={0,2}\n){1,400}-----END CERTIFICATE-----\n"
_PEM_BUNDLE_RE = re.compile(rf"(?:{_PEM_BLOCK}){{1,50}}", re.ASCII)
MAX_PEM_BUNDLE = 256 * 1024
MAX_CERTIFICATES = 32
MAX_CHALLENGES = 100


def validate_fingerprint(value: object) -> str:
    if not isinstance(value, str) or not _FINGERPRINT_RE.fullmatch(value):
        raise ValueError("fingerprint must be 64 lowercase hexadecimal characters (SHA-256)")
    return value


def validate_acme_token(value: object) -> str:
    if not isinstance(value, str) or not _TOKEN_RE.fullmatch(value):
        raise ValueError("ACME token must be 22-128 base64url characters")
    return value


def validate_key_authorization(value: object, token: str) -> str:
    if not isinstance(value, str) or not _KEY_AUTHORIZATION_RE.fullmatch(value):
        raise ValueError("key authorization must be <token>.<base64url thumbprint>")
    if value.split(".", 1)[0] != token:
        raise ValueError("key authorization does not belong to its token")
    return value


def validate_pem_bundle(value: object, what: str = "certificate bundle") -> str:
    """Certificates in canonical PEM (64-column base64, `\\n` line ends), nothing else: no keys, no text."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be PEM text")
    if len(value) > MAX_PEM_BUNDLE or not _PEM_BUNDLE_RE.fullmatch(value):
        raise ValueError(f"{what} must contain only PEM certificates (at most 50, {MAX_PEM_BUNDLE} bytes)")
    return value


def find_errors(snapshot: Snapshot) -> tuple[CompileError, ...]:
    """Every TLS problem in the snapshot (empty when it compiles)."""
    errors: list[CompileError] = []
    sound = []
    for vs in snapshot.virtual_servers:
        if not isinstance(vs, VirtualServerSpec) or vs.tls is None:
            continue
        before = len(errors)
        _check_tls(Collector("virtual_server", vs.name, errors), vs)
        if len(errors) == before:
            sound.append(vs)
    _check_ports(snapshot, sound, errors)
    return tuple(errors)


def _check_tls(col: Collector, vs: VirtualServerSpec) -> None:
    tls = vs.tls
    if not isinstance(tls, TlsSpec):
        col.fail("tls", "must be a TlsSpec")
        return
    _check_listeners(col, vs, tls)
    if len(tls.certificates) > MAX_CERTIFICATES:
        col.fail("tls.certificates", f"at most {MAX_CERTIFICATES} certificates")
    for index, ref in enumerate(tls.certificates):
        _check_certificate(col, f"tls.certificates[{index}]", ref)
    for flag in ("redirect_http", "hsts_include_subdomains"):
        col.check(f"tls.{flag}", v.validate_bool, getattr(tls, flag), flag)
    col.check("tls.hsts_max_age_s", v.validate_int, tls.hsts_max_age_s, "HSTS max-age", 0, HSTS_MAX_AGE_S)
    col.check("tls.client_auth", v.validate_choice, tls.client_auth, "client authentication", CLIENT_AUTH)
    if tls.client_auth != "none":
        col.check("tls.client_ca_pem", validate_pem_bundle, tls.client_ca_pem, "client CA bundle")
    for resolver in tls.ocsp_resolvers:
        col.check("tls.ocsp_resolvers", v.validate_ip, resolver, "OCSP resolver")
    if tls.upstream is not None:
        _check_upstream(col, tls.upstream)
    if len(tls.acme_challenges) > MAX_CHALLENGES:
        col.fail("tls.acme_challenges", f"at most {MAX_CHALLENGES} pending challenges")
    for challenge in tls.acme_challenges:
        _check_challenge(col, challenge)


def _check_listeners(col: Collector, vs: VirtualServerSpec, tls: TlsSpec) -> None:
    if not isinstance(tls.https_ports, tuple) or not isinstance(tls.certificates, tuple):
        col.fail("tls", "https_ports and certificates must be tuples")
        return
    for port in tls.https_ports:
        if col.check("tls.https_ports", v.validate_port, port, "HTTPS port") and port in vs.http_ports:
            col.fail("tls.https_ports", f"port {port} is already an HTTP port of this virtual server")
    if len(set(tls.https_ports)) != len(tls.https_ports):
        col.fail("tls.https_ports", "HTTPS ports must not repeat")
    if tls.https_ports and not tls.certificates:
        col.fail("tls.certificates", "HTTPS listeners need at least one certificate")
    if tls.redirect_http and not tls.https_ports:
        col.fail("tls.redirect_http", "redirecting to HTTPS needs an HTTPS port")


def _check_certificate(col: Collector, at: str, ref: object) -> None:
    if not isinstance(ref, CertificateRef):
        col.fail(at, "must be a CertificateRef")
        return
    col.check(f"{at}.certificate_id", v.validate_int, ref.certificate_id, "certificate id", 1, 2**53)
    col.check(f"{at}.fingerprint", validate_fingerprint, ref.fingerprint)
    col.check(f"{at}.ocsp", v.validate_bool, ref.ocsp, "ocsp")
    if not isinstance(ref.server_names, tuple) or not ref.server_names:
        col.fail(f"{at}.server_names", "a certificate needs at least one DNS name")
        return
    for name in ref.server_names:
        col.check(f"{at}.server_names", v.validate_server_name, name)


def _check_upstream(col: Collector, upstream: object) -> None:
    if not isinstance(upstream, UpstreamTls):
        col.fail("tls.upstream", "must be an UpstreamTls")
        return
    col.check("tls.upstream.verify", v.validate_bool, upstream.verify, "verify")
    if upstream.server_name is not None:
        col.check("tls.upstream.server_name", v.validate_hostname, upstream.server_name, "upstream TLS name")
    if upstream.verify or upstream.trusted_ca_pem is not None:
        col.check("tls.upstream.trusted_ca_pem", validate_pem_bundle, upstream.trusted_ca_pem, "upstream CA")


def _check_challenge(col: Collector, challenge: object) -> None:
    if not isinstance(challenge, AcmeChallengeSpec):
        col.fail("tls.acme_challenges", "must be an AcmeChallengeSpec")
        return
    if col.check("tls.acme_challenges", validate_acme_token, challenge.token):
        col.check(
            "tls.acme_challenges", validate_key_authorization, challenge.key_authorization, challenge.token
        )


def _check_ports(snapshot: Snapshot, sound: list[VirtualServerSpec], errors: list[CompileError]) -> None:
    """Across sites: a port is HTTP or HTTPS, one catch-all per HTTPS port, each name once per port."""
    http_ports = {p for vs in snapshot.virtual_servers for p in getattr(vs, "http_ports", ())}
    catch_all: dict[int, str] = {}
    names: dict[tuple[int, str], str] = {}
    for vs in sound:
        assert vs.tls is not None
        col = Collector("virtual_server", vs.name, errors)
        claimed = [name for _, group in sni_groups(vs, vs.tls)[1:] for name in group]
        if vs.hostnames:
            claimed = [h.lower() for h in vs.hostnames]
        for port in vs.tls.https_ports:
            if port in http_ports:
                col.fail("tls.https_ports", f"port {port} is an HTTP port of another virtual server")
            if not vs.hostnames:
                if port in catch_all:
                    col.fail(
                        "tls.https_ports", f"HTTPS port {port} already has a catch-all: {catch_all[port]}"
                    )
                catch_all.setdefault(port, vs.name)
            for name in claimed:
                owner = names.setdefault((port, name), vs.name)
                if owner != vs.name:
                    col.fail("hostnames", f"{name} on HTTPS port {port} is already served by {owner}")
