"""A real TLS client for the tests: connect to 127.0.0.1 with a chosen SNI name, see what the server does.

Python's `ssl` (OpenSSL 3) does the handshake; the peer certificate is parsed with `cryptography`, so
tests check subjects and fingerprints of what nginx actually served.
"""

from __future__ import annotations

import socket
import ssl
import warnings
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID


@dataclass
class Answer:
    """One TLS connection and (if asked) one HTTP/1.1 exchange over it."""

    common_name: str
    fingerprint: str
    version: str
    alpn: str | None
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def context(
    alpn: list[str] | None = None,
    minimum: ssl.TLSVersion | None = None,
    maximum: ssl.TLSVersion | None = None,
    client_cert: tuple[str, str] | None = None,
    cafile: str | None = None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: exactly what the tests offer
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum is not None:
            # TLS 1.0/1.1 need security level 0 in OpenSSL 3: offer them for real, so the server must refuse.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if client_cert:
        ctx.load_cert_chain(*client_cert)
    return ctx


def fetch(
    port: int,
    sni: str,
    path: str | None = "/",
    ctx: ssl.SSLContext | None = None,
    timeout: float = 5.0,
    host: str = "127.0.0.1",
) -> Answer:
    """Handshake with `sni`; with `path`, also GET it (Host: sni) and read the whole answer."""
    ctx = ctx or context()
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        ctx.wrap_socket(raw, server_hostname=sni) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        cert = x509.load_der_x509_certificate(der)
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        answer = Answer(
            common_name=str(names[0].value) if names else "",
            fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
            version=str(tls.version()),
            alpn=tls.selected_alpn_protocol(),
        )
        if path is not None:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode())
            _read_response(tls, answer)
    return answer


def _read_response(tls: ssl.SSLSocket, answer: Answer) -> None:
    data = b""
    while True:
        try:
            chunk = tls.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break  # a server that rejected the request at the TLS layer (mTLS) may just close
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if lines and lines[0].startswith("HTTP/"):
        answer.status = int(lines[0].split()[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            answer.headers[name.strip().lower()] = value.strip()
    answer.body = body
