"""TLS termination in the compiled config: HTTPS servers chosen by SNI, ACME HTTP-01 answers, upstream TLS.

Pure, like the compiler it plugs into: `VirtualServerSpec.tls` in, directive trees and files out. Values
are checked first (`nginx.tls_checks`); the only text a user influences is host names, ports and PEM
bundles of public certificates, all allow-listed.

What TLS adds to a revision (paths relative to the revision directory):

    sites/<vs>.conf                 the HTTP server (ACME answers, optional redirect), one HTTPS server per
                                    certificate (SNI), and for the first TLS site of an HTTPS port
                                    without a catch-all, that port's default server (refuses unknown names)
    tls/sites/<vs>/client-ca.pem    trust anchors for client certificates (mTLS), public, compiled
    tls/sites/<vs>/upstream-ca.pem  trust anchors for TLS to the upstreams, public, compiled
    tls/certificates.json           the certificate versions (id + fingerprint) the node must provide
    tls/certs/<ref>.pem             NOT compiled: the chain, written by the node agent (0600)
    tls/keys/<ref>.key              NOT compiled: the decrypted private key, written by the node agent (0600)
    node/listen/<port>-ssl[-default].conf   node-local `listen <bind>:<port> ssl http2`

A certificate version is named by its fingerprint, so a new version changes the compiled files and is put
live by the normal reload: connections in flight finish on the old workers with the old certificate.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nginx import validation as v
from nginx.directives import Directive, build, d
from nginx.model import NodeParams, Snapshot, VirtualServerSpec

CLIENT_AUTH = ("none", "required", "optional")
PROTOCOLS = ("TLSv1.2", "TLSv1.3")
# Mozilla "intermediate" (TLS 1.2 part; TLS 1.3 suites are OpenSSL's defaults), without DHE: no dhparam.
CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)
ACME_PREFIX = "/.well-known/acme-challenge/"
MANIFEST = "tls/certificates.json"
HSTS_MAX_AGE_S = 63_072_000  # two years, the longest value browsers' preload lists ask for

_SSL_LISTEN_RE = re.compile(r"^\s*include node/listen/([0-9]{1,5})-ssl(?:-default)?\.conf;$", re.M)


@dataclass(frozen=True, slots=True)
class CertificateRef:
    """One certificate version served by SNI (`ssl_certificate` / `ssl_certificate_key`)."""

    certificate_id: int  # the appliance's certificate id (object storage key)
    fingerprint: str  # SHA-256 of the leaf, lowercase hex: names this version's files
    server_names: tuple[str, ...]  # DNS names the certificate is valid for (SANs): SNI selection
    ocsp: bool = False  # ssl_stapling: the chain names an OCSP responder and has the issuer

    @property
    def stem(self) -> str:
        return f"{self.certificate_id}-{self.fingerprint[:16]}"

    @property
    def chain_path(self) -> str:
        return f"tls/certs/{self.stem}.pem"

    @property
    def key_path(self) -> str:
        return f"tls/keys/{self.stem}.key"


@dataclass(frozen=True, slots=True)
class UpstreamTls:
    """TLS from nginx to the upstream servers of this virtual server (`proxy_ssl_*`)."""

    verify: bool = True  # proxy_ssl_verify (needs trusted_ca_pem)
    trusted_ca_pem: str | None = None  # proxy_ssl_trusted_certificate (tls/sites/<vs>/upstream-ca.pem)
    server_name: str | None = None  # proxy_ssl_name (default: the upstream's name)


@dataclass(frozen=True, slots=True)
class AcmeChallengeSpec:
    """An HTTP-01 answer: GET /.well-known/acme-challenge/<token> returns the key authorization."""

    token: str  # base64url
    key_authorization: str  # <token>.<base64url account-key thumbprint>


@dataclass(frozen=True, slots=True)
class TlsSpec:
    """A virtual server's TLS: HTTPS listeners and what the HTTP listeners do besides proxying.

    `https_ports` may be empty while a certificate is still being issued: the HTTP listeners then only
    gain the ACME answers.
    """

    https_ports: tuple[int, ...] = ()  # listen ... ssl http2 (through node/listen/<port>-ssl*.conf)
    certificates: tuple[CertificateRef, ...] = ()  # the first also answers names no other one covers
    redirect_http: bool = False  # HTTP listeners answer 301 to https:// (ACME answers excepted)
    hsts_max_age_s: int = 0  # add_header Strict-Transport-Security (0 = off)
    hsts_include_subdomains: bool = False
    client_ca_pem: str | None = None  # ssl_client_certificate (tls/sites/<vs>/client-ca.pem)
    client_auth: str = "none"  # ssl_verify_client: none | required (on) | optional
    upstream: UpstreamTls | None = None
    ocsp_resolvers: tuple[str, ...] = ()  # resolver for OCSP stapling (IP literals)
    acme_challenges: tuple[AcmeChallengeSpec, ...] = ()


def https_ports_of(files: Mapping[str, str]) -> tuple[int, ...]:
    """The HTTPS ports compiled sites include listen snippets for (`include node/listen/<p>-ssl*.conf`)."""
    return tuple(sorted({int(p) for text in files.values() for p in _SSL_LISTEN_RE.findall(text)}))


def render_node_files(params: NodeParams, https_ports: Sequence[int]) -> dict[str, str]:
    """Node-local `listen ... ssl http2` snippets for each HTTPS port (plain and default_server)."""
    files = {}
    for port in sorted(set(https_ports)):
        v.validate_port(port, "HTTPS port")
        if port == params.status_port:
            raise ValueError(f"status port {port} is also an HTTPS port")
        ip = ipaddress.ip_address(v.validate_ip(params.bind_address, "bind address"))
        address = f"[{ip.compressed}]:{port}" if ip.version == 6 else f"{ip}:{port}"
        files[f"node/listen/{port}-ssl.conf"] = build([d("listen", address, "ssl", "http2")])
        files[f"node/listen/{port}-ssl-default.conf"] = build(
            [d("listen", address, "ssl", "http2", "default_server")]
        )
    return files


def asset_files(snapshot: Snapshot) -> dict[str, str]:
    """Public TLS files of a revision: CA bundles and the manifest of certificate versions to provide."""
    files: dict[str, str] = {}
    wanted: dict[str, dict[str, object]] = {}
    for vs in snapshot.virtual_servers:
        tls = vs.tls
        if tls is None:
            continue
        if tls.client_ca_pem and tls.client_auth != "none":
            files[f"tls/sites/{vs.name}/client-ca.pem"] = tls.client_ca_pem
        if tls.upstream is not None and tls.upstream.trusted_ca_pem:
            files[f"tls/sites/{vs.name}/upstream-ca.pem"] = tls.upstream.trusted_ca_pem
        for ref in tls.certificates if tls.https_ports else ():
            wanted[ref.stem] = {
                "certificate": ref.certificate_id,
                "fingerprint": ref.fingerprint,
                "chain": ref.chain_path,
                "key": ref.key_path,
            }
    if wanted:
        entries = [wanted[stem] for stem in sorted(wanted)]
        files[MANIFEST] = json.dumps(entries, indent=2, sort_keys=True) + "\n"
    return files


def manifest_entries(files: Mapping[str, str]) -> list[dict[str, Any]]:
    """The certificate versions a compiled revision needs (empty without TLS)."""
    text = files.get(MANIFEST)
    return list(json.loads(text)) if text else []


def site_servers(vs: VirtualServerSpec, http_server: Directive, snapshot: Snapshot) -> list[Directive]:
    """The server blocks of one site: the compiled HTTP server, adapted, plus its HTTPS servers."""
    tls = vs.tls
    if tls is None:
        return [http_server]
    block = list(http_server["block"])
    if tls.upstream is not None:
        block = _with_upstream_tls(block, vs.name, tls.upstream)
    https = _https_servers(vs, tls, block) if tls.https_ports and tls.certificates else []
    servers = [d("server", block=_http_block(tls, block)), *https]
    servers += [_default_https_server(port) for port in _owned_default_ports(vs, snapshot)]
    return servers


def _is_listen(directive: Directive) -> bool:
    return directive["directive"] == "include" and str(directive["args"][0]).startswith("node/listen/")


def _acme_location(challenges: Sequence[AcmeChallengeSpec]) -> Directive:
    # `^~` wins over regex locations and keeps challenge paths away from upstreams and redirects.
    answers = [
        d(
            "location",
            "=",
            ACME_PREFIX + c.token,
            block=[d("default_type", "text/plain"), d("return", "200", c.key_authorization)],
        )
        for c in sorted(challenges, key=lambda c: c.token)
    ]
    return d("location", "^~", ACME_PREFIX, block=[*answers, d("return", "404")])


def _http_block(tls: TlsSpec, block: list[Directive]) -> list[Directive]:
    if tls.redirect_http and tls.https_ports and tls.certificates:
        port = min(tls.https_ports)
        target = "https://$host" + ("" if port == 443 else f":{port}") + "$request_uri"
        block = [d for d in block if d["directive"] != "location"]
        block.append(d("location", "/", block=[d("return", "301", target)]))
    if tls.acme_challenges:
        block = [*block, _acme_location(tls.acme_challenges)]
    return block


def _https_servers(vs: VirtualServerSpec, tls: TlsSpec, block: list[Directive]) -> list[Directive]:
    body = [d for d in block if not _is_listen(d) and d["directive"] != "server_name"]
    if tls.hsts_max_age_s:
        body = _with_hsts(body, tls)
    catch_all = not vs.hostnames
    servers = []
    for index, (ref, names) in enumerate(sni_groups(vs, tls)):
        default = catch_all and index == 0
        suffix = "-ssl-default" if default else "-ssl"
        listens = [d("include", f"node/listen/{port}{suffix}.conf") for port in sorted(tls.https_ports)]
        server_names = ["_"] if default else list(names)
        settings = [*_certificate(ref, tls), *_client_auth(vs.name, tls)]
        servers.append(d("server", block=[*listens, d("server_name", *server_names), *settings, *body]))
    return servers


def sni_groups(vs: VirtualServerSpec, tls: TlsSpec) -> list[tuple[CertificateRef, tuple[str, ...]]]:
    """Which certificate answers which names: one HTTPS server per certificate that answers any.

    A site with host names gives each name to the first certificate covering it (names no certificate
    covers go to the first one, so the site still answers). A catch-all site's first certificate answers
    every name (default server); each further certificate answers its own names not covered before.
    """
    if not tls.certificates:
        return []
    if vs.hostnames:
        assigned: dict[int, list[str]] = {}
        for name in sorted({h.lower() for h in vs.hostnames}):
            index = next((i for i, r in enumerate(tls.certificates) if covers(r, name)), 0)
            assigned.setdefault(index, []).append(name)
        return [(tls.certificates[i], tuple(names)) for i, names in sorted(assigned.items())]
    groups: list[tuple[CertificateRef, tuple[str, ...]]] = [(tls.certificates[0], ())]
    taken = {n.lower() for n in tls.certificates[0].server_names}
    for ref in tls.certificates[1:]:
        names = tuple(sorted({n.lower() for n in ref.server_names} - taken))
        taken |= set(names)
        if names:
            groups.append((ref, names))
    return groups


def covers(ref: CertificateRef, hostname: str) -> bool:
    """Whether the certificate is valid for `hostname` (exact SAN, or a one-label `*.` wildcard)."""
    name = hostname.lower()
    for san in (s.lower() for s in ref.server_names):
        if san == name or (san.startswith("*.") and "." in name and name.split(".", 1)[1] == san[2:]):
            return True
    return False


def protocol_settings() -> list[Directive]:
    """What every HTTPS server shares: protocols, ciphers, curves, the session cache.

    Session tickets stay off: nginx keeps ticket keys for the life of a configuration cycle, so TLS 1.2
    forward secrecy would depend on how often nginx reloads. The shared cache resumes sessions across
    workers (and survives reloads) instead.
    """
    return [
        d("ssl_protocols", *PROTOCOLS),
        d("ssl_ciphers", CIPHERS),
        d("ssl_prefer_server_ciphers", "off"),
        d("ssl_ecdh_curve", "X25519:prime256v1:secp384r1"),
        d("ssl_session_cache", "shared:lb_tls:10m"),
        d("ssl_session_timeout", "1d"),
        d("ssl_session_tickets", "off"),
    ]


def _certificate(ref: CertificateRef, tls: TlsSpec) -> list[Directive]:
    out = [
        d("ssl_certificate", ref.chain_path),
        d("ssl_certificate_key", ref.key_path),
        *protocol_settings(),
    ]
    if ref.ocsp and tls.ocsp_resolvers:
        # The stapled answer is verified by clients; nginx only fetches it (through the resolver).
        out += [
            d("ssl_stapling", "on"),
            d("ssl_stapling_verify", "off"),
            d("resolver", *sorted(tls.ocsp_resolvers), "valid=300s"),
            d("resolver_timeout", "5s"),
        ]
    return out


def _client_auth(vs_name: str, tls: TlsSpec) -> list[Directive]:
    if tls.client_auth == "none" or not tls.client_ca_pem:
        return []
    return [
        d("ssl_client_certificate", f"tls/sites/{vs_name}/client-ca.pem"),
        d("ssl_verify_client", "on" if tls.client_auth == "required" else "optional"),
        d("ssl_verify_depth", "3"),
    ]


def _with_hsts(block: list[Directive], tls: TlsSpec) -> list[Directive]:
    """HSTS at server level and in every location with its own add_header (those do not inherit)."""
    value = f"max-age={tls.hsts_max_age_s}" + ("; includeSubDomains" if tls.hsts_include_subdomains else "")
    header = d("add_header", "Strict-Transport-Security", value, "always")

    def visit(directives: list[Directive], top: bool) -> list[Directive]:
        out = [
            {**d, "block": visit(d["block"], False)} if d["directive"] == "location" else d
            for d in directives
        ]
        if top or any(d["directive"] == "add_header" for d in directives):
            out.insert(next((i for i, d in enumerate(out) if d["directive"] == "location"), len(out)), header)
        return out

    return visit(block, True)


def _with_upstream_tls(block: list[Directive], vs_name: str, upstream: UpstreamTls) -> list[Directive]:
    """`proxy_pass http://` → `https://` with verification, in every location of the site."""
    settings = [
        d("proxy_ssl_protocols", *PROTOCOLS),
        d("proxy_ssl_server_name", "on"),
        d("proxy_ssl_session_reuse", "on"),
    ]
    if upstream.server_name:
        settings.append(d("proxy_ssl_name", upstream.server_name))
    if upstream.verify:
        settings += [
            d("proxy_ssl_verify", "on"),
            d("proxy_ssl_verify_depth", "3"),
            d("proxy_ssl_trusted_certificate", f"tls/sites/{vs_name}/upstream-ca.pem"),
        ]

    def visit(directives: list[Directive]) -> list[Directive]:
        out, proxied = [], False
        for node in directives:
            if node["directive"] == "location":
                node = {**node, "block": visit(node["block"])}
            elif node["directive"] == "proxy_pass" and str(node["args"][0]).startswith("http://"):
                target = "https://" + str(node["args"][0])[len("http://") :]
                node = {**node, "args": [target, *node["args"][1:]]}
                proxied = True
            out.append(node)
        return out + settings if proxied else out

    return visit(block)


def _owned_default_ports(vs: VirtualServerSpec, snapshot: Snapshot) -> list[int]:
    """HTTPS ports without a catch-all site whose default server this site renders (the first by name)."""
    owned = []
    for port in sorted(vs.tls.https_ports if vs.tls and vs.tls.certificates else ()):
        on_port = [
            s
            for s in snapshot.virtual_servers
            if s.tls is not None and s.tls.certificates and port in s.tls.https_ports
        ]
        if not any(not s.hostnames for s in on_port) and min(s.name for s in on_port) == vs.name:
            owned.append(port)
    return owned


def _default_https_server(port: int) -> Directive:
    # Unknown names (and clients without SNI) get a refused handshake, never some site's certificate.
    return d(
        "server",
        block=[
            d("include", f"node/listen/{port}-ssl-default.conf"),
            d("server_name", "_"),
            d("ssl_reject_handshake", "on"),
            *protocol_settings(),
            d("return", "444"),
        ],
    )
