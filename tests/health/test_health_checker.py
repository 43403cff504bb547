"""The checker against real loopback servers answering canned bytes: every reason, every body framing."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appliance.health.checker import CheckSpec, run_checks
from appliance.health.validation import parse_status_set
from tests.support.lb import free_port


@contextmanager
def canned(answer: bytes | None, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A server that reads one request head and writes `answer` (None = never answers); yields its port."""
    loop = asyncio.new_event_loop()
    port = free_port()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if answer is None:
                await asyncio.sleep(30)
            writer.write(answer or b"")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", port, ssl=tls))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(shutdown(server), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


async def shutdown(server: asyncio.Server) -> None:
    """Close the listener and the connections still open (the silent ones are still sleeping)."""
    server.close()
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def http(status: str, body: bytes = b"", framing: str = "length") -> bytes:
    if framing == "chunked":
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + 3]), body[i : i + 3]) for i in range(0, len(body), 3)
        )
        return f"HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + chunks + b"0\r\n\r\n"
    if framing == "close":
        return f"HTTP/1.1 {status}\r\nConnection: close\r\n\r\n".encode() + body
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def probe(port: int, **fields: object):  # type: ignore[no-untyped-def]
    expected = str(fields.pop("expected", "200-399"))
    spec = CheckSpec(
        key=1,
        type=str(fields.pop("type", "http")),
        host="127.0.0.1",
        port=port,
        timeout_s=0.5,
        expected=expected,
        statuses=parse_status_set(expected),
        **fields,  # type: ignore[arg-type]
    )
    return run_checks([spec])[0]


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_body_match_reads_every_framing(framing):
    with canned(http("200 OK", b'{"status": "up", "db": "ok"}', framing)) as port:
        assert probe(port, body_match="substring", body_pattern='"db": "ok"').ok
        assert probe(port, body_match="regex", body_pattern=r'"status":\s*"(ok|up)"').ok
        miss = probe(port, body_match="substring", body_pattern="down")
    assert (miss.ok, miss.reason, miss.status_code) == (False, "body_mismatch", 200)


def test_unexpected_status_fails_with_the_code_and_the_expected_set():
    with canned(http("503 Service Unavailable")) as port:
        result = probe(port, expected="200,204")
        assert probe(port, expected="200-299,503").ok
    assert (result.reason, result.status_code, result.detail) == (
        "http_status",
        503,
        "HTTP 503, expected 200,204",
    )


def test_interim_responses_are_skipped():
    with canned(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + http("204 No Content")) as port:
        result = probe(port)
    assert (result.ok, result.status_code) == (True, 204)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [(None, "timeout"), (b"SSH-2.0-OpenSSH\r\n\r\n", "protocol_error"), (b"", "protocol_error")],
)
def test_silent_garbled_or_closed_answers_fail_with_their_reason(answer, reason):
    with canned(answer) as port:
        result = probe(port)
    assert (result.ok, result.reason) == (False, reason)


def test_refused_connections_and_tcp_checks():
    closed = free_port()
    assert probe(closed).reason == "connection_refused"
    assert probe(closed, type="tcp").reason == "connection_refused"
    with canned(None) as port:
        assert probe(port, type="tcp").ok


def self_signed(tmp: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backend")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return context


def test_https_checks_verify_the_certificate_only_when_asked(tmp_path):
    with canned(http("200 OK"), tls=self_signed(tmp_path)) as port:
        assert probe(port, type="https").ok
        refused = probe(port, type="https", tls_verify=True)
        plain = probe(port)
    assert (refused.ok, refused.reason) == (False, "tls_error")
    assert "certificate" in refused.detail.lower()
    assert not plain.ok


def test_checks_run_concurrently_within_their_own_deadline():
    with canned(None) as slow:
        specs = [CheckSpec(key=i, type="http", host="127.0.0.1", port=slow, timeout_s=0.5) for i in range(50)]
        started = time.monotonic()
        results = run_checks(specs, concurrency=64)
        elapsed = time.monotonic() - started
    assert [r.reason for r in results] == ["timeout"] * 50
    assert elapsed < 2.0  # 50 checks of 0.5 s each, at once: far less than 25 s
