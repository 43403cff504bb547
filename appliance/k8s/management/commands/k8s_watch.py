"""`manage.py k8s_watch`: the discovery watcher process (one thread per cluster), until SIGTERM/SIGINT.

The launcher starts it next to the Celery workers and waits for `LB_READY_FILE`, written once the first
watch plan has been read.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand

from appliance.k8s.watcher import Supervisor


class Command(BaseCommand):
    help = "Watch the EndpointSlices of every service binding and keep the upstream servers in step."

    def handle(self, *args: object, **options: object) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        ready_file = os.environ.get("LB_READY_FILE")

        def ready() -> None:
            if ready_file:
                Path(ready_file).parent.mkdir(parents=True, exist_ok=True)
                Path(ready_file).touch()

        try:
            Supervisor().run(stop, on_first_pass=ready)
        finally:
            if ready_file:
                Path(ready_file).unlink(missing_ok=True)
