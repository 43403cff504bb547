"""The snapshot model: frozen, slotted, and canonically ordered by Snapshot.build."""

import dataclasses

import pytest
from nginx_factories import route, server, site, upstream

from nginx.model import NodeParams, RetryPolicy, ServerSpec, Snapshot, UpstreamSpec


def test_specs_are_frozen_and_slotted():
    spec = server()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.weight = 5  # type: ignore[misc]
    assert not hasattr(spec, "__dict__")


def test_defaults_are_documented_values():
    up = UpstreamSpec(name="web", algorithm="round_robin")
    assert (up.keepalive, up.connect_timeout_ms, up.read_timeout_s, up.send_timeout_s) == (32, 1000, 30, 30)
    assert up.retry == RetryPolicy(("error", "timeout"), 3, 10, False)
    assert ServerSpec("1", "10.0.0.1", 80).state == "enabled"
    assert NodeParams("n1") == NodeParams("n1", "127.0.0.1", 8099)


def test_build_sorts_every_collection():
    up = upstream(
        "b",
        servers=(server("3", "10.0.0.2", 80), server("2", "10.0.0.1", 81), server("1", "10.0.0.1", 80)),
        retry=RetryPolicy(conditions=("http_502", "timeout", "error")),
    )
    vs = site(
        "z",
        hostnames=("b.example.com", "a.example.com"),
        http_ports=(9000, 80),
        routes=(route("/b/", "b", priority=2), route("/a/", "b", priority=2), route("/c/", "b", priority=1)),
    )
    snap = Snapshot.build([up, upstream("a")], [vs, site("m")])
    assert [u.name for u in snap.upstreams] == ["a", "b"]
    assert [s.key for s in snap.upstreams[1].servers] == ["1", "2", "3"]
    assert snap.upstreams[1].retry.conditions == ("error", "timeout", "http_502")
    assert [v.name for v in snap.virtual_servers] == ["m", "z"]
    z = snap.virtual_servers[1]
    assert z.hostnames == ("a.example.com", "b.example.com")
    assert z.http_ports == (80, 9000)
    assert [r.path_prefix for r in z.routes] == ["/c/", "/a/", "/b/"]


def test_build_keeps_duplicates_for_the_compiler_to_report():
    vs = site(hostnames=("a.example.com", "a.example.com"))
    assert Snapshot.build([], [vs]).virtual_servers[0].hostnames == ("a.example.com", "a.example.com")


def test_snapshots_are_hashable_values():
    assert hash(Snapshot.build([upstream()], [site()])) == hash(Snapshot.build([upstream()], [site()]))
