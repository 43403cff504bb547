"""Fixtures for the observability tests: data-plane `pools`, a standalone node, reading /metrics output."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nginx import process
from nginx.applier import NodeApplier
from nginx.compiler import compile_config
from nginx.model import NodeParams, Snapshot
from tests.integration.conftest import Pools, pools  # noqa: F401 - the fixture, shared with the integration tests
from tests.support.lb import Backend, free_port

Labels = frozenset[tuple[str, str]]


def fetch(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """GET `url`: (status, Content-Type, body); HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def samples(text: str) -> dict[tuple[str, Labels], float]:
    """Every sample of a Prometheus text page, keyed by (sample name, label set)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def select(parsed: Mapping[tuple[str, Labels], float], name: str, **labels: str) -> dict[Labels, float]:
    """Samples called `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return {key[1]: value for key, value in parsed.items() if key[0] == name and wanted <= key[1]}


def node_metrics(pools: Pools) -> dict[tuple[str, Labels], float]:  # noqa: F811 - a Pools, not the fixture
    status, _, body = fetch(pools.status_urls[0] + "/metrics")
    assert status == 200, body
    return samples(body)


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: apt-get install -y prometheus")
    return path


@dataclass
class StandaloneNode:
    """An nginx node of its own (no database, no workers) with one loopback backend."""

    prefix: Path
    params: NodeParams
    backend: Backend

    def apply(self, snapshot: Snapshot, revision: int = 1) -> None:
        compiled = compile_config(snapshot)
        result = NodeApplier(self.prefix, self.params).apply(revision, compiled.files, compiled.checksum)
        assert result.ok, result.message

    def metrics(self) -> str:
        status, _, body = fetch(f"http://127.0.0.1:{self.params.status_port}/metrics")
        assert status == 200, body
        return body


@pytest.fixture
def standalone_node() -> Iterator[StandaloneNode]:
    root = Path(tempfile.mkdtemp(prefix="lb-obs-", dir="/tmp"))
    root.chmod(0o755)  # nginx's workers run as nobody when the master is root
    params = NodeParams(name="obs", bind_address="127.0.0.1", status_port=free_port())
    backend = Backend("obs-standalone", free_port(), root).start()
    process.bootstrap(root / "node", params)
    nginx = process.start(root / "node", params)
    try:
        yield StandaloneNode(root / "node", params, backend)
    finally:
        process.stop(nginx)
        backend.stop()
        shutil.rmtree(root, ignore_errors=True)
