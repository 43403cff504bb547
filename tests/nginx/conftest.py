"""Fixtures for tests against the real nginx: a node in a temporary prefix, loopback backends.

Everything binds to 127.0.0.1 on free ports. The prefix is made under /tmp with mode 0755 because
nginx's workers run as `nobody` (the master runs as root here) and must reach tmp/ for bodies.
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nginx_testkit import Backend, Node, free_port  # noqa: E402

from nginx import process  # noqa: E402
from nginx.applier import NodeApplier  # noqa: E402
from nginx.model import NodeParams  # noqa: E402


def _need_nginx() -> None:
    if not os.access(process.NGINX_BIN, os.X_OK):
        pytest.skip(f"{process.NGINX_BIN} is not installed")


@pytest.fixture
def prefix() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lb-nginx-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def params() -> NodeParams:
    return NodeParams(name="test-node", bind_address="127.0.0.1", status_port=free_port())


@pytest.fixture
def node(prefix: Path, params: NodeParams) -> Iterator[Node]:
    _need_nginx()
    process.bootstrap(prefix, params)
    proc = process.start(prefix, params)
    try:
        yield Node(prefix, params, proc, NodeApplier(prefix, params))
    finally:
        process.stop(proc)


@pytest.fixture
def backends() -> Iterator[Callable[[str], Backend]]:
    started: list[Backend] = []

    def make(ident: str) -> Backend:
        backend = Backend(ident)
        started.append(backend)
        return backend

    yield make
    for backend in started:
        backend.stop()
