"""Helpers for the real-nginx tests: free loopback ports, tiny HTTP backends, a started node, a client."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from subprocess import Popen

from nginx.applier import ApplyResult, NodeApplier
from nginx.compiler import CompiledConfig, compile_config
from nginx.model import NodeParams, Snapshot
from nginx.process import status_get


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream keepalive expects
    # One write per response: separate header/body writes meet Nagle + delayed ACK (40 ms each).
    wbufsize = 65536
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def do_GET(self) -> None:
        self._answer(b"")

    def do_POST(self) -> None:
        self._answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _answer(self, body: bytes) -> None:
        backend = self.server.backend
        with backend.lock:
            backend.hits[self.path] += 1
            backend.requests.append({"path": self.path, "headers": dict(self.headers), "body_len": len(body)})
        payload = json.dumps({"id": backend.ident, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    backend: Backend
    connections: set[socket.socket]


@dataclass
class Backend:
    """A loopback HTTP server answering {"id": ident, "path": ...} and counting what it saw."""

    ident: str
    hits: Counter[str] = field(default_factory=Counter)
    requests: list[dict[str, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.backend = self
        self._server.connections = set()
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def total(self) -> int:
        return sum(self.hits.values())

    def stop(self) -> None:
        """Stop listening and cut open keep-alive connections, like a crashed backend."""
        self._server.shutdown()
        self._server.server_close()
        for conn in list(self._server.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Client:
    """Keep-alive HTTP client to one nginx port; reconnects when nginx closes the connection."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port, self.host = port, host
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(
        self, path: str = "/", method: str = "GET", body: bytes | None = None, host: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Host": host or self.host}
        for attempt in range(2):
            try:
                self._conn.request(method, path, body=body, headers=headers)
                response = self._conn.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get_json(self, path: str = "/", host: str | None = None) -> dict[str, str]:
        status, _, body = self.request(path, host=host)
        assert status == 200, (status, body)
        return dict(json.loads(body))

    def close(self) -> None:
        self._conn.close()


@dataclass
class Node:
    """A running nginx node in a temporary prefix, with its applier."""

    prefix: Path
    params: NodeParams
    proc: Popen[bytes]
    applier: NodeApplier
    compiled: dict[int, CompiledConfig] = field(default_factory=dict)

    def apply(self, revision: int, snapshot: Snapshot) -> ApplyResult:
        compiled = self.compiled[revision] = compile_config(snapshot)
        return self.applier.apply(revision, compiled.files, compiled.checksum)

    def revision(self) -> str | None:
        return status_get(self.params, "/revision")
