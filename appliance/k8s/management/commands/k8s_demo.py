"""`manage.py k8s_demo`: the simulated cluster of `make run`, the payment Deployment on it, and its binding
to the demo upstream `payment` (with a scaling policy); idempotent.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from appliance.k8s import demo, kubeconfig, services
from appliance.k8s.choices import ConnectionStatus, Metric
from appliance.k8s.models import Cluster, ScalingPolicy, ServiceBinding
from appliance.lb.models import Upstream


class Command(BaseCommand):
    help = "Run the payment service on the simulated cluster and bind it to the demo upstream."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kubeconfig", type=Path, default=settings.STACK.path("kubeconfig"))
        parser.add_argument("--cluster", default="kubesim", help="name of the cluster object")
        parser.add_argument("--replicas", type=int, default=2)

    def handle(self, *args: object, kubeconfig: Path, cluster: str, replicas: int, **_: object) -> None:
        with transaction.atomic():
            target, _ = Cluster.objects.get_or_create(name=cluster)
            services.store_credentials(target, self._parse(kubeconfig))
        connection = services.check_cluster(target)
        if connection.status != ConnectionStatus.CONNECTED:
            raise CommandError(f"cluster {cluster}: {connection.status} {connection.detail}")
        with services.api_for(target) as api:
            demo.deploy(api, settings.STACK, replicas)
        upstream, _ = Upstream.objects.get_or_create(name="payment")
        binding, _ = ServiceBinding.objects.get_or_create(
            upstream=upstream,
            cluster=target,
            namespace=demo.NAMESPACE,
            service=demo.NAME,
            port_name=demo.PORT_NAME,
        )
        ScalingPolicy.objects.get_or_create(
            binding=binding,
            defaults={
                "deployment": demo.NAME,
                "metric": Metric.RPS_PER_REPLICA,
                "target": 50,
                "min_replicas": replicas,
                "max_replicas": 4,
                "interval_s": 15,
            },
        )
        label = "simulated " if connection.simulated else ""
        self.stdout.write(
            f"k8s: {label}cluster {cluster} ({connection.version}): Deployment {demo.NAMESPACE}/{demo.NAME} "
            f"bound to upstream payment"
        )

    @staticmethod
    def _parse(path: Path) -> kubeconfig.ParsedKubeconfig:
        try:
            return kubeconfig.parse(path.read_text())
        except (OSError, kubeconfig.KubeconfigError) as exc:
            raise CommandError(f"{path}: {exc}") from None
