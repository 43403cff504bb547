"""The snapshots behind the TLS golden files in tests/tls/golden/<case>/."""

from __future__ import annotations

from nginx.model import NodeParams, RouteSpec, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec
from nginx.tls import AcmeChallengeSpec, CertificateRef, TlsSpec, UpstreamTls
from tests.tls.pki import fixed_ca

NODE = NodeParams(name="golden", bind_address="127.0.0.1", status_port=8099)
REVISION = 1
CLIENT_CA = fixed_ca("golden client CA")
UPSTREAM_CA = fixed_ca("golden upstream CA")

SHOP = CertificateRef(1, "a" * 64, ("shop.example.com", "www.shop.example.com"))
WILDCARD = CertificateRef(2, "b" * 64, ("*.example.org",))
API = CertificateRef(3, "c" * 64, ("api.example.net",), ocsp=True)
TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
THUMBPRINT = "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"


def _web() -> UpstreamSpec:
    return UpstreamSpec("web", "round_robin", servers=(ServerSpec("1", "10.0.0.1", 8080),))


def _site(name: str, hostnames: tuple[str, ...], tls: TlsSpec, **changes: object) -> VirtualServerSpec:
    changes.setdefault("http_ports", (8080,))
    return VirtualServerSpec(name, hostnames, default_upstream="web", tls=tls, **changes)  # type: ignore[arg-type]


CASES: dict[str, Snapshot] = {
    "https_redirect_hsts": Snapshot.build(
        [_web()],
        [
            _site(
                "shop",
                ("shop.example.com", "www.shop.example.com"),
                TlsSpec(
                    https_ports=(8443,),
                    certificates=(SHOP,),
                    redirect_http=True,
                    hsts_max_age_s=31536000,
                    hsts_include_subdomains=True,
                ),
                routes=(RouteSpec(1, "/api/", "web", strip_prefix=True),),
            )
        ],
    ),
    "sni_and_mtls": Snapshot.build(
        [_web()],
        [
            _site(
                "multi",
                ("shop.example.com", "a.example.org", "other.example.com"),
                TlsSpec(
                    https_ports=(8443, 9443),
                    certificates=(SHOP, WILDCARD),
                    client_ca_pem=CLIENT_CA,
                    client_auth="required",
                ),
            ),
            _site(
                "fallback",
                (),
                TlsSpec(
                    https_ports=(10443,),
                    certificates=(SHOP, WILDCARD),
                    client_ca_pem=CLIENT_CA,
                    client_auth="optional",
                ),
                http_ports=(8081,),
            ),
        ],
    ),
    "acme_pending": Snapshot.build(
        [_web()],
        [
            _site(
                "shop",
                ("shop.example.com",),
                TlsSpec(acme_challenges=(AcmeChallengeSpec(TOKEN, f"{TOKEN}.{THUMBPRINT}"),)),
            )
        ],
    ),
    "upstream_tls_ocsp": Snapshot.build(
        [_web()],
        [
            _site(
                "api",
                ("api.example.net",),
                TlsSpec(
                    https_ports=(443,),
                    certificates=(API,),
                    redirect_http=True,
                    upstream=UpstreamTls(
                        verify=True, trusted_ca_pem=UPSTREAM_CA, server_name="backend.internal"
                    ),
                    ocsp_resolvers=("127.0.0.53",),
                ),
            )
        ],
    ),
}
