"""`manage.py demo`: the demo pool (payment replicas) behind a catch-all virtual server; idempotent.

`/api/...` on the demo port reaches the payment replicas with the `/api` prefix stripped, so
`POST http://127.0.0.1:8080/api/payments` creates a payment through the load balancer.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from appliance.lb import services
from appliance.lb.models import Route, Server, Upstream, VirtualServer


class Command(BaseCommand):
    help = "Create or refresh the demo upstream, virtual server and route."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--payment-ports", default="", help="comma-separated ports of payment replicas")
        parser.add_argument("--http-port", type=int, default=8080)
        parser.add_argument("--address", default="127.0.0.1")

    @transaction.atomic
    def handle(self, *args: object, payment_ports: str, http_port: int, address: str, **_: object) -> None:
        upstream, _ = Upstream.objects.get_or_create(name="payment")
        ports = {int(p) for p in payment_ports.split(",") if p}
        for port in ports:
            Server.objects.get_or_create(upstream=upstream, address=address, port=port)
        vs, _ = VirtualServer.objects.get_or_create(name="demo", defaults={"http_ports": [http_port]})
        if http_port not in vs.http_ports:
            vs.http_ports = sorted({*vs.http_ports, http_port})
            vs.save()
        Route.objects.get_or_create(
            virtual_server=vs, path_prefix="/api/", defaults={"upstream": upstream, "strip_prefix": True}
        )
        services.mark_changed("demo data", "launcher")
        self.stdout.write(
            f"demo: http://{address}:{http_port}/api/ -> upstream payment ({len(ports)} servers)"
        )
