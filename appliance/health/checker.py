"""Run many health checks at once: one asyncio loop, bounded concurrency, a hard deadline per check.

Plain Python (no Django): a cycle turns claimed servers into `CheckSpec`s, calls `run_checks`, and records
the `CheckResult`s. Checks use raw asyncio streams and a deliberately small HTTP/1.1 client: one request
per fresh connection (`Connection: close`; a pooled keep-alive connection would hide a backend that no
longer accepts new ones), the status line, headers, and the body only when a body match needs it
(Content-Length, chunked or until close, at most BODY_LIMIT bytes). Measured here it costs under half the
CPU of a general-purpose client, which is what lets one cycle check hundreds of servers within an
interval. Failures carry a reason an operator can act on (refused, timeout, status, body, TLS) and a
one-line detail.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from appliance.health.validation import compile_body_regex, status_expected

BODY_LIMIT = 64 * 1024  # bytes of a response body inspected by a body match
DEFAULT_CONCURRENCY = 256
USER_AGENT = "lb-appliance-health/1"
MAX_INTERIM_RESPONSES = 5  # 1xx answers skipped before the final one

_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9]{2})(?: |\r\n)")


class ProtocolError(Exception):
    """The backend answered something that is not a valid HTTP/1.x response."""


@dataclass(frozen=True, slots=True)
class CheckSpec:
    key: int  # the server's id
    type: str  # http | https | tcp
    host: str  # IP literal or hostname
    port: int
    timeout_s: float
    method: str = "GET"
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    expected: str = "200-399"  # shown in failure details
    statuses: tuple[tuple[int, int], ...] = ((200, 399),)
    body_match: str = ""  # "" | substring | regex
    body_pattern: str = ""
    tls_verify: bool = False

    def request(self) -> bytes:
        host = f"[{self.host}]" if ":" in self.host else self.host
        given = {name.lower() for name, _ in self.headers}
        lines = [f"{self.method} {self.path} HTTP/1.1"]
        lines += [f"Host: {host}:{self.port}"] if "host" not in given else []
        lines += [f"User-Agent: {USER_AGENT}"] if "user-agent" not in given else []
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines += ["Accept: */*", "Connection: close", "", ""]
        return "\r\n".join(lines).encode("ascii")


@dataclass(frozen=True, slots=True)
class CheckResult:
    key: int
    ok: bool
    reason: str  # a `Reason` value
    detail: str = ""
    status_code: int | None = None
    latency_ms: int = 0


def run_checks(specs: Sequence[CheckSpec], concurrency: int = DEFAULT_CONCURRENCY) -> list[CheckResult]:
    """Check every spec, at most `concurrency` at a time; returns one result per spec, in order."""
    if not specs:
        return []
    return asyncio.run(_run_all(specs, concurrency))


async def _run_all(specs: Sequence[CheckSpec], concurrency: int) -> list[CheckResult]:
    gate = asyncio.Semaphore(concurrency)

    async def bounded(spec: CheckSpec) -> CheckResult:
        async with gate:
            return await check(spec)

    return list(await asyncio.gather(*(bounded(spec) for spec in specs)))


async def check(spec: CheckSpec) -> CheckResult:
    """One check within its deadline; never raises."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(spec.timeout_s):
            outcome = await _probe(spec)
    except TimeoutError:
        outcome = ("timeout", f"no answer within {round(spec.timeout_s * 1000)} ms", None)
    except ConnectionRefusedError:
        outcome = ("connection_refused", "connection refused", None)
    except ssl.SSLError as exc:
        outcome = ("tls_error", _short(exc), None)
    except asyncio.IncompleteReadError:
        outcome = ("protocol_error", "connection closed before a complete response", None)
    except (ProtocolError, asyncio.LimitOverrunError, ValueError) as exc:
        outcome = ("protocol_error", _short(exc), None)
    except OSError as exc:
        outcome = ("connection_error", _short(exc), None)
    reason, detail, code = outcome
    latency = round((time.monotonic() - started) * 1000)
    return CheckResult(spec.key, reason == "ok", reason, detail[:300], code, latency)


async def _probe(spec: CheckSpec) -> tuple[str, str, int | None]:
    tls = _tls_context(spec.tls_verify) if spec.type == "https" else None
    sni = None if tls is None or _is_ip(spec.host) else spec.host
    reader, writer = await asyncio.open_connection(spec.host, spec.port, ssl=tls, server_hostname=sni)
    try:
        if spec.type == "tcp":
            return "ok", "connected", None
        writer.write(spec.request())
        code, headers = await _read_head(reader)
        if not status_expected(code, spec.statuses):
            return "http_status", f"HTTP {code}, expected {spec.expected}", code
        if not spec.body_match:
            return "ok", f"HTTP {code}", code
        body = await _read_body(reader, headers) if _has_body(spec.method, code) else ""
        if not _body_matches(spec, body):
            what = "contain" if spec.body_match == "substring" else "match"
            return "body_mismatch", f"HTTP {code}, body does not {what} {spec.body_pattern!r}", code
        return "ok", f"HTTP {code}, body matches", code
    finally:
        writer.close()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The final response's status code and headers (lower-case names), skipping 1xx interim answers."""
    for _ in range(MAX_INTERIM_RESPONSES + 1):
        head = await reader.readuntil(b"\r\n\r\n")
        match = _STATUS_LINE.match(head)
        if not match:
            raise ProtocolError(f"not an HTTP/1.x response: {head[:40]!r}")
        code = int(match.group(1))
        if code >= 200 or code == 101:
            return code, _headers(head)
    raise ProtocolError("too many interim (1xx) responses")


def _headers(head: bytes) -> dict[str, str]:
    found = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            found[name.strip().lower()] = value.strip()
    return found


def _has_body(method: str, code: int) -> bool:
    return method != "HEAD" and code not in (204, 304) and not 100 <= code < 200


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> str:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        data = await _read_chunked(reader)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        data = await reader.readexactly(min(length, BODY_LIMIT))
    else:
        data = b""
        while len(data) < BODY_LIMIT:
            chunk = await reader.read(BODY_LIMIT - len(data))
            if not chunk:
                break
            data += chunk
    return data[:BODY_LIMIT].decode("utf-8", errors="replace")


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    data = b""
    while len(data) < BODY_LIMIT:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            break
        data += await reader.readexactly(size)
        await reader.readexactly(2)
    return data


def _body_matches(spec: CheckSpec, body: str) -> bool:
    if spec.body_match == "substring":
        return spec.body_pattern in body
    return _regex(spec.body_pattern).search(body) is not None


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> Any:
    return compile_body_regex(pattern)


@functools.lru_cache(maxsize=2)
def _tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:  # backends commonly serve internal or self-signed certificates
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]
