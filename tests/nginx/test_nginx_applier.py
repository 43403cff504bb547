"""The applier against a real nginx: apply, skip, refuse, roll back, lock."""

import http.client
import socket

import pytest
from nginx_testkit import Client, free_port

from nginx import process, staging
from nginx.applier import NodeApplier
from nginx.compiler import checksum_files, compile_config
from nginx.model import NodeParams, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec

pytestmark = pytest.mark.timeout(120)


def pool(*backends, weights=None, **changes) -> UpstreamSpec:
    weights = weights or [1] * len(backends)
    servers = tuple(
        ServerSpec(b.ident, "127.0.0.1", b.port, weight=w) for b, w in zip(backends, weights, strict=True)
    )
    return UpstreamSpec(name="web", algorithm="round_robin", servers=servers, **changes)


def shop(
    *ports: int, name: str = "shop", upstream: str = "web", hostnames=("shop.test",)
) -> VirtualServerSpec:
    return VirtualServerSpec(name, hostnames, ports, upstream)


def test_a_revision_carries_traffic_to_the_backend(node, backends):
    one = backends("one")
    port = free_port()
    result = node.apply(1, Snapshot.build([pool(one)], [shop(port)]))
    assert (result.ok, result.revision, result.reloaded) == (True, 1, True), result.message
    assert node.revision() == "1\n"
    assert Client(port, "shop.test").get_json("/hello") == {"id": "one", "path": "/hello"}
    assert node.applier.live() == (1, node.compiled[1].checksum)
    assert result.duration_s < 5


def test_a_member_change_goes_live_as_the_next_revision(node, backends):
    one, two = backends("one"), backends("two")
    port = free_port()
    assert node.apply(1, Snapshot.build([pool(one, two)], [shop(port)])).ok
    result = node.apply(2, Snapshot.build([pool(one, two, weights=[1, 4])], [shop(port)]))
    assert (result.ok, result.reloaded) == (True, True), result.message
    assert node.revision() == "2\n"
    assert node.compiled[1].structure_checksum == node.compiled[2].structure_checksum
    client = Client(port, "shop.test")
    seen = [client.get_json()["id"] for _ in range(50)]
    assert seen.count("two") == 40


def test_an_unchanged_revision_does_not_reload(node, backends):
    one = backends("one")
    snapshot = Snapshot.build([pool(one)], [shop(free_port())])
    assert node.apply(1, snapshot).ok
    master = process.master_pid(node.prefix)
    workers = process.worker_pids(master)
    result = node.apply(1, snapshot)
    assert (result.ok, result.reloaded) == (True, False)
    assert "already live" in result.message
    assert process.master_pid(node.prefix) == master
    assert process.worker_pids(master) <= workers  # no worker started: no reload (old ones may exit)


def test_the_same_content_under_a_new_number_reloads_to_publish_the_number(node, backends):
    snapshot = Snapshot.build([pool(backends("one"))], [shop(free_port())])
    assert node.apply(1, snapshot).ok
    result = node.apply(2, snapshot)
    assert (result.ok, result.reloaded) == (True, True)
    assert node.revision() == "2\n"


def test_a_port_taken_at_reload_keeps_the_previous_revision_serving(node, backends):
    one = backends("one")
    port, taken = free_port(), socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        assert node.apply(1, Snapshot.build([pool(one)], [shop(port)])).ok
        bad = Snapshot.build(
            [pool(one)], [shop(port), shop(taken.getsockname()[1], hostnames=(), name="other")]
        )
        result = node.apply(2, bad)
        assert (result.ok, result.reloaded) == (False, False)
        assert "Address already in use" in result.message
        assert "rolled back to revision 1" in result.message
        assert node.revision() == "1\n"
        assert node.applier.live() == (1, node.compiled[1].checksum)
        assert Client(port, "shop.test").get_json()["id"] == "one"
    finally:
        taken.close()
    retried = node.apply(2, bad)
    assert retried.ok, retried.message
    assert node.revision() == "2\n"


def test_a_config_nginx_t_refuses_is_never_swapped_in(node, backends):
    one = backends("one")
    port = free_port()
    assert node.apply(1, Snapshot.build([pool(one)], [shop(port)])).ok
    workers = process.worker_pids(process.master_pid(node.prefix))
    broken = UpstreamSpec("web", "round_robin", servers=(ServerSpec("9", "no-such-host.invalid", 80),))
    result = node.apply(2, Snapshot.build([broken], [shop(port)]))
    assert (result.ok, result.reloaded) == (False, False)
    assert "nginx -t rejected revision 2" in result.message
    assert 'host not found in upstream "no-such-host.invalid:80"' in result.message
    assert not staging.revision_dir(node.prefix, 2).exists()
    assert node.revision() == "1\n"
    assert process.worker_pids(process.master_pid(node.prefix)) <= workers  # no new workers: no reload
    assert Client(port, "shop.test").get_json()["id"] == "one"


def test_files_that_do_not_match_the_checksum_are_refused(node, backends):
    compiled = compile_config(Snapshot.build([pool(backends("one"))], [shop(free_port())]))
    tampered = {**compiled.files, "main.conf": compiled.files["main.conf"] + "# extra\n"}
    result = node.applier.apply(1, tampered, compiled.checksum)
    assert not result.ok
    assert "checksum does not match" in result.message
    assert node.revision() == "0\n"


def test_a_live_revision_number_cannot_be_reused_for_other_content(node, backends):
    one = backends("one")
    assert node.apply(1, Snapshot.build([pool(one)], [shop(free_port())])).ok
    result = node.apply(1, Snapshot.build([pool(one, weights=[5])], [shop(free_port())]))
    assert not result.ok
    assert "revisions are immutable" in result.message
    assert node.revision() == "1\n"


def test_a_held_lock_makes_apply_fail_without_touching_nginx(node, backends):
    applier = NodeApplier(node.prefix, node.params, lock_timeout_s=0.2)
    snapshot = Snapshot.build([pool(backends("one"))], [shop(free_port())])
    with staging.apply_lock(node.prefix, timeout_s=1):
        compiled = compile_config(snapshot)
        result = applier.apply(1, compiled.files, compiled.checksum)
    assert not result.ok
    assert "another apply holds" in result.message
    assert node.revision() == "0\n"


def test_without_a_running_nginx_a_tested_revision_becomes_current(prefix, params, backends):
    process.bootstrap(prefix, params)
    applier = NodeApplier(prefix, params)
    compiled = compile_config(Snapshot.build([pool(backends("one"))], [shop(free_port())]))
    result = applier.apply(1, compiled.files, compiled.checksum)
    assert (result.ok, result.reloaded) == (True, False)
    assert "not running" in result.message
    assert applier.live() == (1, compiled.checksum)


def test_old_revisions_are_pruned(node, backends):
    one = backends("one")
    applier = NodeApplier(node.prefix, node.params, keep_revisions=2)
    port = free_port()
    for number in (1, 2, 3):
        compiled = compile_config(Snapshot.build([pool(one, weights=[number])], [shop(port)]))
        assert applier.apply(number, compiled.files, compiled.checksum).ok
    assert sorted(p.name for p in (node.prefix / "revisions").iterdir()) == ["2", "3"]


def test_nginx_t_warnings_are_reported_with_a_successful_apply(node, backends):
    compiled = compile_config(Snapshot.build([pool(backends("one"))], [shop(free_port())]))
    site = compiled.files["sites/shop.conf"]
    files = {**compiled.files, "sites/shop.conf": site + site}  # same server_name twice on one port
    result = node.applier.apply(1, files, checksum_files(files))
    assert result.ok, result.message
    assert 'conflicting server name "shop.test"' in result.message


def test_an_ipv6_loopback_node_serves_the_same_compiled_revision(prefix, backends):
    params = NodeParams("v6-node", bind_address="::1", status_port=free_port())
    process.bootstrap(prefix, params)
    proc = process.start(prefix, params)
    try:
        port = free_port()
        compiled = compile_config(Snapshot.build([pool(backends("one"))], [shop(port)]))
        result = NodeApplier(prefix, params).apply(1, compiled.files, compiled.checksum)
        assert result.ok, result.message
        conn = http.client.HTTPConnection("::1", port, timeout=5)
        conn.request("GET", "/v6", headers={"Host": "shop.test"})
        assert conn.getresponse().read() == b'{"id": "one", "path": "/v6"}'
    finally:
        process.stop(proc)
