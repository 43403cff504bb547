"""Fixtures for object-storage tests: the TLS fixtures (sites, PKI, API client), a dead endpoint, a relay."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
from django.conf import settings

from appliance.core.storage import ObjectStore
from tests.support.lb import free_port
from tests.tls.conftest import api, intermediate, root_ca, sites

__all__ = ["api", "dead_endpoint", "dead_store", "intermediate", "root_ca", "sites"]


@pytest.fixture
def dead_endpoint() -> str:
    """A loopback port nothing listens on (until a test starts a relay there)."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def dead_store(dead_endpoint: str) -> ObjectStore:
    return ObjectStore({**settings.LB_S3, "endpoint": dead_endpoint})


class Relay:
    """A TCP relay from `listen` to the real S3 server: storage "coming back" on the dead endpoint.

    With `tls`, the relay terminates TLS: the S3 server as seen through HTTPS.
    """

    def __init__(self, listen: str, target: str, tls: ssl.SSLContext | None = None) -> None:
        host, port = listen.split(":")
        self.target = target.split(":")
        self.tls = tls
        self.server = socket.create_server((host, int(port)))
        self.server.settimeout(0.2)
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.running:
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.tls is not None:
                try:
                    client = self.tls.wrap_socket(client, server_side=True)
                except (ssl.SSLError, OSError):
                    continue  # a client that refused our certificate
            upstream = socket.create_connection((self.target[0], int(self.target[1])))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.running = False
        self.server.close()


@pytest.fixture
def relay_to_storage() -> Iterator[list[Relay]]:
    """Start relays with `relays.append(Relay(endpoint, settings.LB_S3["endpoint"]))`; closed afterwards."""
    relays: list[Relay] = []
    yield relays
    for relay in relays:
        relay.close()
