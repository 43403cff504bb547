"""Django settings for the test run: a private state directory and free loopback ports, then the real settings.

pytest-django imports this before any conftest runs, so this is where the test stack's environment is
decided. Child processes (workers, gunicorn, nginx agents) inherit it through os.environ, so they reach
the same test services. A `make run` on the same machine keeps its own ports and state.
"""

import os
import socket
import tempfile

from appliance.launcher.config import Ports


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


if "LB_TEST_STACK_READY" not in os.environ:
    os.environ["LB_TEST_STACK_READY"] = "1"
    os.environ["LB_STATE_DIR"] = tempfile.mkdtemp(prefix="lb-test-", dir="/var/tmp")
    names = list(Ports.__dataclass_fields__)
    for name, port in zip(names, _free_ports(len(names)), strict=True):
        os.environ[f"LB_{name.upper()}_PORT"] = str(port)
    os.environ["LB_ADMIN_PASSWORD"] = "test-admin-password-1"

from appliance.settings import *  # noqa: E402,F403
