"""Debian's `pebble` ACME test CA, started for a test on free loopback ports with its own configuration.

Pebble validates HTTP-01 by fetching `http://<domain>:<httpPort>/.well-known/acme-challenge/<token>`; its
`httpPort` is pointed at the data plane's HTTP listener, and its DNS at `pebble-challtestsrv`, which
answers 127.0.0.1 for every name. Its directory is served over HTTPS with a certificate from a test CA
made here; that CA's PEM is what the ACME account trusts.
"""

from __future__ import annotations

import json
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

import requests

from appliance.launcher.procs import Child
from tests.support.lb import free_port
from tests.tls import pki

# Debian's `pebble` package (the Makefile installs it): both binaries are in /usr/bin.
PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
CHALLTESTSRV = shutil.which("pebble-challtestsrv") or "/usr/bin/pebble-challtestsrv"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Pebble:
    directory: Path
    http_port: int
    acme_port: int = field(default_factory=free_port)
    dns_port: int = field(default_factory=free_udp_port)
    ca_pem: str = ""
    children: list[Child] = field(default_factory=list)

    @property
    def directory_url(self) -> str:
        return f"https://localhost:{self.acme_port}/dir"

    def start(self) -> Pebble:
        ca = pki.make_ca("pebble listener CA")
        listener = pki.issue(ca, ["localhost"])
        (self.directory / "cert.pem").write_text(listener.chain_pem)
        (self.directory / "key.pem").write_text(listener.key_pem)
        (self.directory / "ca.pem").write_text(ca.cert_pem)
        self.ca_pem = ca.cert_pem
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.acme_port}",
                "managementListenAddress": f"127.0.0.1:{free_port()}",
                "certificate": str(self.directory / "cert.pem"),
                "privateKey": str(self.directory / "key.pem"),
                "httpPort": self.http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (self.directory / "pebble.json").write_text(json.dumps(config))
        dns = Child(
            "challtestsrv",
            [
                str(CHALLTESTSRV),
                "-dns01",
                f"127.0.0.1:{self.dns_port}",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                f"127.0.0.1:{free_port()}",
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
            ],
            self.directory / "challtestsrv.log",
        ).start()
        self.children.append(dns)
        env = {
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_VA_ALWAYS_VALID": "0",
            "PEBBLE_WFE_NONCEREJECT": "0",
            "PEBBLE_AUTHZREUSE": "0",
        }
        argv = [str(PEBBLE), "-config", str(self.directory / "pebble.json")]
        argv += ["-dnsserver", f"127.0.0.1:{self.dns_port}", "-strict=false"]
        ca_server = Child("pebble", argv, self.directory / "pebble.log", env=env).start()
        self.children.append(ca_server)
        ca_server.wait_ready(self._answers, 20, "ACME directory")
        return self

    def _answers(self) -> bool:
        response = requests.get(self.directory_url, verify=str(self.directory / "ca.pem"), timeout=2)
        return response.status_code == 200 and "newOrder" in response.json()

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
