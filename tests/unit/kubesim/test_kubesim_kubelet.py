"""The simulated kubelet: Deployment replicas as real local processes behind EndpointSlices."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import urllib3
from kubernetes import client, watch

from tests.kubesim import manifests
from tests.kubesim.harness import KubeSim, wait_until

PORT_RANGE = "19100-19199"
HTTP_SERVER = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
# Answers every GET with "<GREETING> <pod name>", to prove env and placeholders reach the process.
GREETER = """
import http.server, os, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (os.environ["GREETING"] + " " + sys.argv[2]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def http_server_annotations(tmp_path) -> dict:
    argv = [*HTTP_SERVER, "--directory", str(tmp_path)]
    return manifests.runnable_annotations(argv, PORT_RANGE, readiness_path="/")


def endpoints(discovery: client.DiscoveryV1Api, namespace: str, service: str) -> list[dict]:
    """Every endpoint of ``service`` across its slices, with the slice's port attached."""
    slices = discovery.list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}"
    )
    found = []
    for s in slices.items:
        for e in s.endpoints or []:
            found.append(
                {
                    "pod": e.target_ref.name,
                    "port": s.ports[0].port,
                    "ready": e.conditions.ready,
                    "serving": e.conditions.serving,
                    "terminating": e.conditions.terminating,
                }
            )
    return found


def ready_ports(discovery, namespace, service) -> list[int]:
    return sorted(e["port"] for e in endpoints(discovery, namespace, service) if e["ready"])


def get(port: int) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
        return response.status, response.read()


@pytest.fixture
def discovery(api_client) -> client.DiscoveryV1Api:
    return client.DiscoveryV1Api(api_client)


@pytest.fixture
def web_app(core, apps, namespace, tmp_path):
    """A Service "web" and a runnable Deployment "web" with 2 replicas of python -m http.server."""
    core.create_namespaced_service(namespace, manifests.service("web", {"app": "web"}))
    apps.create_namespaced_deployment(
        namespace, manifests.deployment("web", replicas=2, annotations=http_server_annotations(tmp_path))
    )
    yield "web"
    apps.delete_namespaced_deployment("web", namespace)


def test_replicas_are_real_http_servers_on_distinct_ports(apps, discovery, namespace, web_app):
    ports = wait_until(
        lambda: (
            len(ready_ports(discovery, namespace, web_app)) == 2
            and ready_ports(discovery, namespace, web_app)
        ),
        message="2 ready endpoints",
    )

    assert len(set(ports)) == 2 and all(19100 <= p <= 19199 for p in ports)
    assert [get(port)[0] for port in ports] == [200, 200]
    status = wait_until(
        lambda: (
            (s := apps.read_namespaced_deployment_status(web_app, namespace)).status.ready_replicas == 2 and s
        )
    )
    assert status.status.replicas == 2 and status.status.available_replicas == 2
    assert status.status.observed_generation == status.metadata.generation


def test_slices_follow_the_real_conventions(discovery, namespace, web_app):
    wait_until(lambda: len(ready_ports(discovery, namespace, web_app)) == 2)
    slices = discovery.list_namespaced_endpoint_slice(namespace).items
    for s in slices:
        assert s.address_type == "IPv4"
        assert s.metadata.labels["kubernetes.io/service-name"] == web_app
        assert s.metadata.owner_references[0].kind == "Service"
        assert s.ports[0].name == "http" and s.ports[0].protocol == "TCP"
        assert s.endpoints[0].addresses == ["127.0.0.1"]
        assert s.endpoints[0].target_ref.kind == "Pod" and s.endpoints[0].target_ref.name.startswith("web-")


def test_scaling_2_4_1_updates_endpoints_within_2s(apps, discovery, namespace, web_app):
    wait_until(
        lambda: len(ready_ports(discovery, namespace, web_app)) == 2, message="initial 2 ready endpoints"
    )
    rv = discovery.list_namespaced_endpoint_slice(namespace).metadata.resource_version
    seen: list[dict] = []
    w = watch.Watch()

    def record():
        stream = w.stream(
            discovery.list_namespaced_endpoint_slice, namespace, resource_version=rv, timeout_seconds=15
        )
        # w.stop() below shuts the socket; the client then reports a truncated response, which is fine.
        with contextlib.suppress(urllib3.exceptions.ProtocolError):
            for event in stream:
                seen.append(event["raw_object"])

    watcher = threading.Thread(target=record, daemon=True)
    watcher.start()

    started = time.monotonic()
    apps.patch_namespaced_deployment_scale(web_app, namespace, {"spec": {"replicas": 4}})
    ports = wait_until(
        lambda: (p := ready_ports(discovery, namespace, web_app)) and len(p) == 4 and p,
        timeout=2.0,
        message="4 ready",
    )
    assert time.monotonic() - started < 2.0
    assert all(get(port)[0] == 200 for port in ports)

    started = time.monotonic()
    apps.patch_namespaced_deployment_scale(web_app, namespace, {"spec": {"replicas": 1}})
    wait_until(
        lambda: len(endpoints(discovery, namespace, web_app)) == 1, timeout=2.0, message="1 endpoint left"
    )
    assert time.monotonic() - started < 2.0
    w.stop()

    terminating = [e for obj in seen for e in obj.get("endpoints") or [] if e["conditions"]["terminating"]]
    assert len({e["targetRef"]["name"] for e in terminating}) == 3, (
        "each removed replica showed as terminating first"
    )
    assert all(not e["conditions"]["ready"] for e in terminating)


def test_pre_stop_delay_keeps_a_terminating_replica_serving(core, apps, discovery, namespace, tmp_path):
    annotations = http_server_annotations(tmp_path)
    annotations["kubesim.lb/pre-stop-seconds"] = "1"
    core.create_namespaced_service(namespace, manifests.service("drain", {"app": "drain"}))
    apps.create_namespaced_deployment(
        namespace, manifests.deployment("drain", replicas=1, annotations=annotations)
    )
    [port] = wait_until(lambda: ready_ports(discovery, namespace, "drain"), message="1 ready")

    apps.patch_namespaced_deployment_scale("drain", namespace, {"spec": {"replicas": 0}})
    [endpoint] = wait_until(lambda: [e for e in endpoints(discovery, namespace, "drain") if e["terminating"]])
    assert endpoint["serving"] and not endpoint["ready"]
    assert get(port)[0] == 200  # still answering while it drains
    wait_until(lambda: endpoints(discovery, namespace, "drain") == [], timeout=4, message="endpoint removed")
    apps.delete_namespaced_deployment("drain", namespace)


def test_env_and_placeholders_reach_the_process(core, apps, discovery, namespace):
    argv = [sys.executable, "-c", GREETER, "{port}", "{instance}"]
    annotations = manifests.runnable_annotations(
        argv, PORT_RANGE, readiness_path="/", env={"GREETING": "hello"}
    )
    core.create_namespaced_service(namespace, manifests.service("greeter", {"app": "greeter"}))
    apps.create_namespaced_deployment(
        namespace, manifests.deployment("greeter", replicas=1, annotations=annotations)
    )

    [endpoint] = wait_until(lambda: [e for e in endpoints(discovery, namespace, "greeter") if e["ready"]])
    assert get(endpoint["port"])[1].decode() == f"hello {endpoint['pod']}"
    apps.delete_namespaced_deployment("greeter", namespace)


def test_a_new_pod_template_rolls_replicas_over(apps, discovery, namespace, web_app):
    before = {
        e["pod"]
        for e in wait_until(
            lambda: (
                len(ready_ports(discovery, namespace, web_app)) == 2
                and endpoints(discovery, namespace, web_app)
            )
        )
    }
    patch = {
        "spec": {"template": {"metadata": {"annotations": {"kubesim.lb/env": json.dumps({"VERSION": "2"})}}}}
    }
    apps.patch_namespaced_deployment(web_app, namespace, patch)

    def rolled():
        now = endpoints(discovery, namespace, web_app)
        pods = {e["pod"] for e in now}
        return len(now) == 2 and all(e["ready"] for e in now) and not pods & before and pods

    wait_until(rolled, timeout=6, message="rollout")
    status = wait_until(
        lambda: (d := apps.read_namespaced_deployment(web_app, namespace)).status.updated_replicas == 2 and d
    )
    assert status.status.observed_generation == 2


def test_crashing_replica_is_restarted_with_backoff(apps, namespace, sim):
    argv = [sys.executable, "-c", "import time; time.sleep(0.1)"]
    annotations = manifests.runnable_annotations(argv, PORT_RANGE)
    apps.create_namespaced_deployment(
        namespace, manifests.deployment("crasher", replicas=1, annotations=annotations)
    )
    logs = sim.state_dir / "logs"

    def starts() -> int:
        return sum(p.read_text().count("kubesim: starting") for p in logs.glob(f"{namespace}_crasher-*.log"))

    wait_until(lambda: starts() >= 2, timeout=4, message="a restart")
    deployment = apps.read_namespaced_deployment("crasher", namespace)
    assert not deployment.status.ready_replicas
    apps.delete_namespaced_deployment("crasher", namespace)


def test_deleting_the_deployment_stops_its_processes(apps, discovery, namespace, web_app, sim):
    wait_until(lambda: len(ready_ports(discovery, namespace, web_app)) == 2)
    pids = [
        e["pid"]
        for e in json.loads((sim.state_dir / "replica-pids.json").read_text())
        if e["pod"].startswith("web-")
    ]
    assert pids
    apps.delete_namespaced_deployment(web_app, namespace)
    wait_until(lambda: not any(_alive(pid) for pid in pids), timeout=5, message="replicas exited")
    wait_until(lambda: endpoints(discovery, namespace, web_app) == [], message="endpoints removed")
    apps.create_namespaced_deployment(
        namespace, manifests.deployment(web_app, replicas=0)
    )  # for the fixture's cleanup


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); only a running process counts.
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_bad_kubesim_annotations_are_rejected_with_422(apps, namespace):
    annotations = {"kubesim.lb/command": "python -m http.server", "kubesim.lb/port-range": "9-3"}
    with pytest.raises(client.ApiException) as caught:
        apps.create_namespaced_deployment(namespace, manifests.deployment("bad", annotations=annotations))
    assert caught.value.status == 422
    fields = {c["field"] for c in json.loads(caught.value.body)["details"]["causes"]}
    assert fields == {
        "spec.template.metadata.annotations[kubesim.lb/command]",
        "spec.template.metadata.annotations[kubesim.lb/port-range]",
    }


def test_stopping_kubesim_stops_every_replica(tmp_path):
    with KubeSim.start(tmp_path / "sim") as sim:
        api = sim.api_client()
        client.AppsV1Api(api).create_namespaced_deployment(
            "default", manifests.deployment("web", replicas=2, annotations=http_server_annotations(tmp_path))
        )
        pid_file = sim.state_dir / "replica-pids.json"
        entries = wait_until(
            lambda: (
                pid_file.exists()
                and len(json.loads(pid_file.read_text())) == 2
                and json.loads(pid_file.read_text())
            )
        )
    assert not any(_alive(e["pid"]) for e in entries)
