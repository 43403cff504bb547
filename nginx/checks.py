"""Whole-snapshot validation: every error the compiler would refuse, with the object it belongs to.

Errors name a top-level object (`upstream` or `virtual_server`, by name); parts of an object are
addressed in the field path: `servers[<key>].address`, `routes[<index>].path_prefix`,
`retry.tries`. So a caller can always map an error back to one named object.

`find_errors` collects *all* problems instead of stopping at the first, so the control plane can
show every field error at once, or leave a broken object out and still compile the rest (one
broken object must never block the others). `compile_config` refuses any snapshot with errors.
"""

from __future__ import annotations

from collections.abc import Callable

from nginx import validation as v
from nginx.model import (
    ALGORITHMS,
    RETRY_CONDITIONS,
    SERVER_STATES,
    RetryPolicy,
    RouteSpec,
    ServerSpec,
    Snapshot,
    UpstreamSpec,
    VirtualServerSpec,
)


class CompileError(ValueError):
    """A snapshot value the compiler refuses, located by object kind, object name and field."""

    def __init__(self, obj_kind: str, obj_name: str, field: str, message: str) -> None:
        super().__init__(obj_kind, obj_name, field, message)
        self.obj_kind = obj_kind
        self.obj_name = obj_name
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.obj_kind} {ascii(self.obj_name)[:70]}: {self.field}: {self.message}"


class Collector:
    """Runs validators for one object and turns their ValueErrors into CompileErrors."""

    def __init__(self, kind: str, name: object, errors: list[CompileError]) -> None:
        self.kind = kind
        self.name = name if isinstance(name, str) else ascii(name)
        self.errors = errors

    def fail(self, field: str, message: str) -> None:
        self.errors.append(CompileError(self.kind, self.name, field, message))

    def check(self, field: str, validator: Callable[..., object], *args: object) -> bool:
        try:
            validator(*args)
        except ValueError as exc:
            self.fail(field, str(exc))
            return False
        return True

    def tuple_of(self, field: str, value: object, item_type: type) -> bool:
        if isinstance(value, tuple) and all(isinstance(item, item_type) for item in value):
            return True
        self.fail(field, f"must be a tuple of {item_type.__name__}")
        return False


def find_errors(snapshot: Snapshot) -> tuple[CompileError, ...]:
    """Every problem in the snapshot, in a stable order (empty when it compiles)."""
    errors: list[CompileError] = []
    top = Collector("snapshot", "snapshot", errors)
    if not (
        top.tuple_of("upstreams", snapshot.upstreams, UpstreamSpec)
        and top.tuple_of("virtual_servers", snapshot.virtual_servers, VirtualServerSpec)
    ):
        return tuple(errors)
    _check_unique_names("upstream", [u.name for u in snapshot.upstreams], errors)
    _check_unique_names("virtual_server", [vs.name for vs in snapshot.virtual_servers], errors)
    for upstream in snapshot.upstreams:
        _check_upstream(upstream, errors)
    upstream_names = {u.name for u in snapshot.upstreams}
    sound = []
    for vs in snapshot.virtual_servers:
        before = len(errors)
        _check_virtual_server(vs, upstream_names, errors)
        if len(errors) == before:
            sound.append(vs)
    _check_ports(sound, errors)
    return tuple(errors)


def _check_unique_names(kind: str, names: list[str], errors: list[CompileError]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            Collector(kind, name, errors).fail("name", "another object has the same name")
        seen.add(name)


def _check_unique(col: Collector, field: str, values: list[str], what: str = "name") -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            col.fail(field, f"the {what} {ascii(value)[:70]} is used more than once")
        seen.add(value)


def _check_upstream(up: UpstreamSpec, errors: list[CompileError]) -> None:
    col = Collector("upstream", up.name, errors)
    col.check("name", v.validate_name, up.name)
    col.check("algorithm", v.validate_choice, up.algorithm, "algorithm", ALGORITHMS)
    if up.algorithm == "hash":
        col.check("hash_key", v.validate_hash_key, up.hash_key, up.hash_key_name)
        col.check("hash_consistent", v.validate_bool, up.hash_consistent, "hash_consistent")
    elif (up.hash_key, up.hash_key_name, up.hash_consistent) != (None, None, False):
        col.fail("hash_key", "hash_key, hash_key_name and hash_consistent apply only to the hash algorithm")
    for field in ("keepalive", "connect_timeout_ms", "read_timeout_s", "send_timeout_s"):
        col.check(field, v.validate_bounded, getattr(up, field), field)
    _check_retry(col, up.retry)
    if col.tuple_of("servers", up.servers, ServerSpec):
        for server in up.servers:
            _check_server(col, up.algorithm, server)
        _check_unique(col, "servers", [str(s.key) for s in up.servers], "key")
        endpoints = [_endpoint_key(s) for s in up.servers]
        _check_unique(col, "servers", [e for e in endpoints if e is not None], "address:port")


def _endpoint_key(server: ServerSpec) -> str | None:
    try:
        return f"{v.normalize_address(v.validate_address(server.address))}:{server.port}"
    except ValueError:
        return None  # already reported by _check_server


def _check_retry(col: Collector, retry: RetryPolicy) -> None:
    if not isinstance(retry, RetryPolicy):
        col.fail("retry", "must be a RetryPolicy")
        return
    if col.tuple_of("retry.conditions", retry.conditions, str):
        for condition in retry.conditions:
            col.check("retry.conditions", v.validate_choice, condition, "retry condition", RETRY_CONDITIONS)
        if len(set(retry.conditions)) != len(retry.conditions):
            col.fail("retry.conditions", "each retry condition may appear only once")
    col.check("retry.tries", v.validate_bounded, retry.tries, "retry_tries", "retry tries")
    col.check("retry.timeout_s", v.validate_bounded, retry.timeout_s, "retry_timeout_s", "retry timeout")
    col.check("retry.non_idempotent", v.validate_bool, retry.non_idempotent, "non_idempotent")


def _check_server(col: Collector, algorithm: str, server: ServerSpec) -> None:
    at = f"servers[{ascii(server.key)[1:-1][:64]}]"
    col.check(f"{at}.key", v.validate_key, server.key)
    col.check(f"{at}.address", v.validate_address, server.address)
    col.check(f"{at}.port", v.validate_port, server.port)
    for field in ("weight", "max_fails", "fail_timeout_s", "max_conns"):
        col.check(f"{at}.{field}", v.validate_bounded, getattr(server, field), field)
    col.check(f"{at}.state", v.validate_choice, server.state, "state", SERVER_STATES)
    if col.check(f"{at}.backup", v.validate_bool, server.backup, "backup"):
        col.check(f"{at}.backup", v.validate_backup_allowed, algorithm, server.backup)


def _check_virtual_server(vs: VirtualServerSpec, upstreams: set[str], errors: list[CompileError]) -> None:
    col = Collector("virtual_server", vs.name, errors)
    col.check("name", v.validate_name, vs.name)
    if col.tuple_of("hostnames", vs.hostnames, str):
        for hostname in vs.hostnames:
            col.check("hostnames", v.validate_server_name, hostname)
        _check_unique(col, "hostnames", [h.lower() for h in vs.hostnames], "hostname")
    if col.tuple_of("http_ports", vs.http_ports, int):
        if not vs.http_ports:
            col.fail("http_ports", "a virtual server needs at least one port")
        for port in vs.http_ports:
            col.check("http_ports", v.validate_port, port)
        _check_unique(col, "http_ports", [str(p) for p in vs.http_ports], "port")
    if vs.default_upstream is not None and vs.default_upstream not in upstreams:
        col.fail("default_upstream", f"no upstream named {ascii(vs.default_upstream)[:70]}")
    if col.tuple_of("routes", vs.routes, RouteSpec):
        _check_routes(col, vs, upstreams)


def _check_routes(col: Collector, vs: VirtualServerSpec, upstreams: set[str]) -> None:
    # Routes are the gateway's (conditions, actions, canaries, limits); imported here because
    # nginx.gateway_checks builds on this module.
    from nginx.gateway_checks import check_routes

    check_routes(col, vs, upstreams)


def _check_ports(vss: list[VirtualServerSpec], errors: list[CompileError]) -> None:
    """Across virtual servers: one catch-all per port, and each host name on a port only once."""
    catch_all: dict[int, str] = {}
    hosts: dict[tuple[int, str], str] = {}
    for vs in vss:
        col = Collector("virtual_server", vs.name, errors)
        for port in vs.http_ports:
            if not vs.hostnames:
                if port in catch_all:
                    col.fail("hostnames", f"port {port} already has a catch-all: {catch_all[port]}")
                catch_all.setdefault(port, vs.name)
            for hostname in vs.hostnames:
                owner = hosts.setdefault((port, hostname.lower()), vs.name)
                if owner != vs.name:
                    col.fail("hostnames", f"{hostname} on port {port} is already served by {owner}")
