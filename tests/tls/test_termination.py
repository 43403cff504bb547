"""TLS termination on the real nginx: SNI, HTTP/2, protocol floor, redirect, HSTS, mTLS, root-only keys."""

from __future__ import annotations

import http.client
import http.server
import ssl
import stat
import threading
from pathlib import Path

import pytest

from tests.support.lb import free_port, get, wait_until
from tests.tls import pki
from tests.tls.client import context, fetch


@pytest.fixture
def shop(sites, intermediate):
    """One site with two certificates chosen by SNI: shop.test and *.example.test."""
    shop = pki.issue(intermediate, ["shop.test", "www.shop.test"])
    wild = pki.issue(intermediate, ["*.example.test"])
    ids = [sites.upload("shop-cert", shop), sites.upload("wild-cert", wild)]
    site = sites.site("shop", ["shop.test", "www.shop.test", "api.example.test"], ids)
    return site, shop, wild


def test_each_sni_name_gets_its_certificate_and_reaches_the_backend(shop):
    site, shop_cert, wild_cert = shop
    first = fetch(site.https_port, "shop.test")
    second = fetch(site.https_port, "api.example.test")
    assert (first.common_name, first.fingerprint) == ("shop.test", shop_cert.fingerprint)
    assert (second.common_name, second.fingerprint) == ("*.example.test", wild_cert.fingerprint)
    assert first.status == second.status == 200
    assert first.headers["x-backend"] == "shop"
    assert site.backend.hits() >= 2


def test_an_unknown_name_gets_no_certificate_at_all(shop):
    site, _, _ = shop
    with pytest.raises(ssl.SSLError):
        fetch(site.https_port, "unknown.test")


def test_http2_is_negotiated_over_alpn(shop):
    site, _, _ = shop
    answer = fetch(site.https_port, "shop.test", path=None, ctx=context(alpn=["h2", "http/1.1"]))
    assert answer.alpn == "h2"


def test_tls_1_0_and_1_1_are_refused_and_1_2_and_1_3_accepted(shop):
    site, _, _ = shop
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises(ssl.SSLError):
            fetch(site.https_port, "shop.test", path=None, ctx=context(minimum=old, maximum=old))
    for good in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        answer = fetch(site.https_port, "shop.test", path=None, ctx=context(minimum=good, maximum=good))
        assert answer.version == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[good.name]


def test_plain_http_redirects_to_https_and_https_sends_hsts(sites, intermediate):
    cert = sites.upload("redirect-cert", pki.issue(intermediate, ["secure.test"]))
    site = sites.site(
        "secure",
        ["secure.test"],
        [cert],
        redirect_http=True,
        hsts_max_age_s=31536000,
        hsts_include_subdomains=True,
    )
    conn = http.client.HTTPConnection("127.0.0.1", site.http_port, timeout=5)
    conn.request("GET", "/pay?x=1", headers={"Host": "secure.test"})
    response = conn.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"https://secure.test:{site.https_port}/pay?x=1"
    conn.close()
    assert site.backend.hits() == 0
    answer = fetch(site.https_port, "secure.test", path="/pay?x=1")
    assert answer.status == 200
    assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert site.backend.hits() == 1


def test_mtls_accepts_a_trusted_client_certificate_and_rejects_none_or_an_untrusted_one(
    sites, intermediate, root_ca, tmp_path
):
    client_ca = pki.make_ca("LB test client CA")
    cert = sites.upload("mtls-cert", pki.issue(intermediate, ["mtls.test"]))
    site = sites.site("mtls", ["mtls.test"], [cert], client_auth="required", client_ca_pem=client_ca.cert_pem)
    good = _client_files(tmp_path / "good", pki.issue(client_ca, ["alice"], client=True))
    bad = _client_files(tmp_path / "bad", pki.issue(pki.make_ca("someone else"), ["mallory"], client=True))

    assert fetch(site.https_port, "mtls.test", ctx=context(client_cert=good)).status == 200
    for ctx in (context(), context(client_cert=bad)):
        try:
            answer = fetch(site.https_port, "mtls.test", ctx=ctx)
        except (ssl.SSLError, ConnectionResetError):
            continue  # refused in the handshake (TLS 1.3 may also report it at the first read)
        assert answer.status in (0, 400), answer
    assert site.backend.hits() == 1


def _client_files(directory: Path, issued: pki.Issued) -> tuple[str, str]:
    directory.mkdir()
    (directory / "cert.pem").write_text(issued.chain_pem)
    (directory / "key.pem").write_text(issued.key_pem)
    return str(directory / "cert.pem"), str(directory / "key.pem")


def test_certificate_files_on_the_node_are_readable_by_root_only(shop, dataplane):
    current = dataplane.nodes[0].prefix / "current"
    keys = sorted((current / "tls" / "keys").iterdir())
    chains = sorted((current / "tls" / "certs").iterdir())
    assert len(keys) == len(chains) == 2
    for path in [*keys, *chains]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.stat().st_uid == 0
    for directory in (current / "tls" / "keys", current / "tls" / "certs"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert b"PRIVATE KEY" in keys[0].read_bytes()


def test_a_new_certificate_version_goes_live_without_dropping_a_request_in_flight(sites, intermediate):
    slow = sites.backend("slow", delay_ms=6000)
    first = pki.issue(intermediate, ["live.test"])
    cert = sites.upload("live-cert", first)
    site = sites.site("live", ["live.test"], [cert], backend=slow, upstream_options={"read_timeout_s": 30})
    in_flight: dict[str, object] = {}
    request = threading.Thread(
        target=lambda: in_flight.update(answer=fetch(site.https_port, "live.test", timeout=30))
    )
    request.start()
    wait_until(lambda: slow.hits() == 1, 10, "the slow request to reach the backend")
    second = pki.issue(intermediate, ["live.test"])
    body = {"chain_pem": second.chain_pem, "private_key": second.key_pem}
    response = sites.api.post(f"/api/v1/certificates/{cert}/upload/", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["fingerprint"] == second.fingerprint
    sites.wait()
    assert request.is_alive(), "the reload must happen while the request is in flight"
    request.join(30)
    answer = in_flight["answer"]
    assert answer.status == 200 and answer.fingerprint == first.fingerprint  # type: ignore[attr-defined]
    assert fetch(site.https_port, "live.test", path=None).fingerprint == second.fingerprint


def test_upstream_tls_is_verified_against_the_configured_ca(sites, intermediate, tmp_path):
    backend_ca = pki.make_ca("LB test backend CA")
    tls_backend = _TlsBackend(pki.issue(backend_ca, ["backend.internal"]), tmp_path).start()
    try:
        cert = sites.upload("up-cert", pki.issue(intermediate, ["up.test"]))
        site = sites.site(
            "up",
            ["up.test"],
            [cert],
            upstream_port=tls_backend.port,
            upstream_tls=True,
            upstream_ca_pem=backend_ca.cert_pem,
            upstream_server_name="backend.internal",
        )
        assert fetch(site.https_port, "up.test").status == 200
        assert get(f"http://127.0.0.1:{site.http_port}/", headers={"Host": "up.test"})[0] == 200
        assert tls_backend.hits == 2
        response = sites.api.patch(
            f"/api/v1/tls-bindings/{site.binding['id']}/",
            {"upstream_ca_pem": pki.make_ca("not the backend's CA").cert_pem},
            format="json",
        )
        assert response.status_code == 200, response.json()
        sites.wait()
        assert fetch(site.https_port, "up.test").status == 502
        assert tls_backend.hits == 2
    finally:
        tls_backend.stop()


class _TlsBackend:
    """An HTTPS backend in this process (loopback), counting the requests it answered."""

    def __init__(self, issued: pki.Issued, directory: Path) -> None:
        (directory / "b.pem").write_text(issued.chain_pem)
        (directory / "b.key").write_text(issued.key_pem)
        self.hits = 0
        self.port = free_port()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(directory / "b.pem"), str(directory / "b.key"))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)

    def start(self) -> _TlsBackend:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
