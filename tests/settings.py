"""Test settings: a private state directory and free loopback ports, then the real settings.

pytest-django imports this before any conftest runs, so this is where the test stack's environment is
decided. Child processes (workers, gunicorn, nginx agents) inherit it through os.environ, so they reach
the same test services. A `make run` on the same machine keeps its own ports and state.
"""

import os

from appliance.launcher.config import isolated_environment

isolated_environment("lb-test-")
os.environ.setdefault("LB_ADMIN_PASSWORD", "test-admin-password-1")
os.environ.setdefault("PAYMENT_DRAIN_SECONDS", "0")  # replicas stop at once when a test session ends

from appliance.settings import *  # noqa: E402,F403
