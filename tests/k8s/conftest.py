"""Kubernetes tests: real kubesim clusters, the real watcher process, nginx, Celery worker and beat.

`k8s.start(name, watched, scaled)` runs a kubesim whose token for the appliance holds exactly the rules
`appliance.k8s.rbac.rules` gives for what the test configures (least privilege, as documented), and
registers it as a `Cluster` from a kubeconfig carrying that token. The test sets workloads up with
kubesim's admin token. Workloads are cheap `loadtests.backend` replicas (`X-Backend` = pod name,
readiness on `/__hits`), on a port range of their own below the ephemeral ports.
"""

from __future__ import annotations

import random
import secrets
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kubernetes import client

from appliance.k8s import kubeconfig, rbac, services
from appliance.k8s.models import Cluster, ServiceBinding
from appliance.launcher.stack import Stack
from appliance.lb.models import Server, Upstream
from tests.integration.conftest import Pools, pools  # noqa: F401 - the shared fixture, re-exported
from tests.kubesim.harness import KubeSim
from tests.kubesim.manifests import deployment, runnable_annotations, service
from tests.support.lb import wait_until


def start_kubesim(state_dir: Path, **options: object) -> KubeSim:
    """kubesim with a hex admin token (the harness's default token may start with "-", which its
    command line then takes for an option)."""
    return KubeSim.start(state_dir, token=secrets.token_hex(16), **options)  # type: ignore[arg-type]


def kubesim_rules(rules: list[rbac.Rule]) -> list[dict]:
    """The appliance's rules in kubesim's RBAC file format (kubesim has no `resourceNames`)."""
    return [
        {
            "apiGroups": [r.api_group],
            "resources": [r.resource],
            "verbs": list(r.verbs),
            "namespaces": [r.namespace],
        }
        for r in rules
    ]


def port_range() -> str:
    low = random.randrange(20000, 31000, 50)  # below Linux's ephemeral ports, where free_port() picks
    return f"{low}-{low + 49}"


@dataclass
class SimCluster:
    """One kubesim, its admin client for setting up workloads, and the appliance's `Cluster` row."""

    sim: KubeSim
    admin: client.ApiClient
    model: Cluster
    rbac: dict

    def lose(self) -> None:
        """The whole cluster at once: the API server dies without a word (SIGKILL), then its replicas."""
        self.sim.process.kill()
        self.sim.process.wait(10)
        self.sim.stop()  # kubesim is gone already: this reaps its replicas, by PID

    def restart(self) -> None:
        """Stop the API server (and its replicas) and start it again on the same port, state and users."""
        port = int(self.sim.url.rsplit(":", 1)[1])
        self.admin.close()
        self.sim.stop()
        self.sim = KubeSim.start(
            self.sim.state_dir, port=port, token=self.sim.token, name=self.model.name, rbac=self.rbac
        )
        self.admin = self.sim.api_client()

    def deploy(
        self, namespace: str, name: str, replicas: int, delay_ms: int = 0, pre_stop_s: float = 3
    ) -> None:
        """Namespace, Deployment and Service (port `http`). A terminating replica keeps serving for
        `pre_stop_s` (a preStop sleep, as on a real cluster) while its drain reaches nginx."""
        core, apps = client.CoreV1Api(self.admin), client.AppsV1Api(self.admin)
        try:
            core.create_namespace({"metadata": {"name": namespace}})
        except client.exceptions.ApiException as exc:
            assert exc.status == 409, exc
        argv = [
            sys.executable,
            "-m",
            "loadtests.backend",
            "{instance}",
            "{port}",
            "--delay-ms",
            str(delay_ms),
        ]
        annotations = runnable_annotations(argv, port_range(), "/__hits", pre_stop_seconds=pre_stop_s)
        apps.create_namespaced_deployment(namespace, deployment(name, replicas, annotations=annotations))
        core.create_namespaced_service(namespace, service(name, {"app": name}))

    def scale(self, namespace: str, name: str, replicas: int) -> None:
        client.AppsV1Api(self.admin).patch_namespaced_deployment_scale(
            name, namespace, {"spec": {"replicas": replicas}}
        )

    def replicas(self, namespace: str, name: str) -> int:
        return int(
            client.AppsV1Api(self.admin).read_namespaced_deployment_scale(name, namespace).spec.replicas
        )

    def ready_endpoints(self, namespace: str, name: str) -> set[tuple[str, int]]:
        slices = client.DiscoveryV1Api(self.admin).list_namespaced_endpoint_slice(
            namespace, label_selector=f"kubernetes.io/service-name={name}"
        )
        return {
            (endpoint.addresses[0], s.ports[0].port)
            for s in slices.items
            for endpoint in s.endpoints or []
            if endpoint.conditions.ready
        }

    def bind(self, upstream: str, namespace: str, name: str, weight: int = 1) -> ServiceBinding:
        return ServiceBinding.objects.create(
            upstream=Upstream.objects.get(name=upstream),
            cluster=self.model,
            namespace=namespace,
            service=name,
            port_name="http",
            weight=weight,
        )


@dataclass
class Clusters:
    root: Path
    started: list[SimCluster] = field(default_factory=list)

    def start(
        self, name: str, watched: list[str], scaled: Sequence[tuple[str, str]] = (), grace_s: int = 30
    ) -> SimCluster:
        """A kubesim whose appliance token holds the rules for `watched` namespaces and `scaled`
        (namespace, Deployment) pairs, registered as `Cluster` `name` from a kubeconfig with that token."""
        token = secrets.token_hex(16)
        users = [
            {"name": "lb-appliance", "token": token, "rules": kubesim_rules(rbac.rules(watched, scaled))}
        ]
        sim = start_kubesim(self.root / name, name=name, rbac={"users": users})
        model = Cluster.objects.create(name=name, unreachable_grace_s=grace_s)
        services.store_credentials(model, kubeconfig.parse(sim.kubeconfig_for(token).read_text()))
        started = SimCluster(sim, sim.api_client(), model, {"users": users})
        self.started.append(started)
        return started

    def stop(self) -> None:
        for running in self.started:
            running.admin.close()
            running.sim.stop()


@pytest.fixture(scope="session")
def k8s_watcher(dataplane: Stack) -> Stack:
    dataplane.start_k8s_watcher()
    return dataplane


@pytest.fixture
def k8s(pools: Pools, k8s_watcher: Stack, tmp_path: Path) -> Iterator[Clusters]:  # noqa: F811 - fixture
    clusters = Clusters(tmp_path)
    yield clusters
    clusters.stop()


def servers(upstream: str, state: str = "enabled") -> set[tuple[str, int]]:
    return set(Server.objects.filter(upstream__name=upstream, state=state).values_list("address", "port"))


def wait_servers(upstream: str, count: int, timeout: float = 20) -> set[tuple[str, int]]:
    return wait_until(
        lambda: len(servers(upstream)) == count and servers(upstream), timeout, f"{count} servers"
    )


def nginx_workers(stack: Stack) -> set[int]:
    """PIDs of the node's nginx worker processes: a reload replaces every one of them."""
    master = stack.nodes[0].child.pid
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.add(int(entry.name))
    return found
