"""Import upstream pools from an existing nginx configuration (migration from hand-written configs).

Parses with crossplane (following includes) and maps `upstream` blocks of the http context to
`UpstreamSpec`s. Nothing is guessed: whatever cannot be represented exactly — other directives,
server parameters, an unrepresentable hash key, invalid names or addresses — is listed in
`ImportResult.unmapped` as `file:line: what and why`. An upstream whose balancing would change
(unknown algorithm, backup with hashing) is left out entirely rather than imported differently.
Imported upstreams keep nginx's own defaults where ours differ (no `keepalive` means 0).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crossplane

from nginx import validation as v
from nginx.checks import find_errors
from nginx.model import ServerSpec, Snapshot, UpstreamSpec

Stmt = dict[str, Any]

_TIME_RE = re.compile(r"(?:[0-9]+(?:ms|s|m|h|d)?)+", re.ASCII)
_TIME_PART_RE = re.compile(r"([0-9]+)(ms|s|m|h|d)?", re.ASCII)
_UNIT_MS = {"ms": 1, "s": 1000, None: 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_HASH_KEYS: dict[str, tuple[str, str | None]] = {
    "$remote_addr": ("client_ip", None),
    "$binary_remote_addr": ("client_ip", None),
    "$request_uri": ("uri", None),
}
# `drain` is NGINX Plus's flag; it means the same as our drain state.
_SERVER_FLAGS: dict[str, dict[str, Any]] = {
    "backup": {"backup": True},
    "down": {"state": "disabled"},
    "drain": {"state": "drain"},
}
_HASH_VAR_RE = re.compile(r"\$(http|cookie)_([A-Za-z0-9_]{1,64})", re.ASCII)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The upstreams that map exactly, and `file:line: reason` for everything else."""

    upstreams: tuple[UpstreamSpec, ...]
    unmapped: tuple[str, ...]


class _Skip(Exception):
    """This upstream or server cannot be imported faithfully."""


def import_config(path: str | Path) -> ImportResult:
    """Parse the nginx config at `path` (and its includes) and map its http upstream blocks."""
    payload = crossplane.parse(str(path), catch_errors=True, comments=False, check_ctx=False)
    unmapped = [f"{e['file']}:{e.get('line') or 0}: parse error: {e['error']}" for e in payload["errors"]]
    found: list[tuple[str, UpstreamSpec]] = []
    if payload["config"]:
        main = payload["config"][0]
        _walk(payload["config"], main["file"], main["parsed"], (), found, unmapped)
    upstreams: dict[str, UpstreamSpec] = {}
    for where, upstream in found:
        if upstream.name in upstreams:
            unmapped.append(f"{where}: upstream {upstream.name} defined again; the first one was imported")
            continue
        upstreams[upstream.name] = upstream
    snapshot = Snapshot.build(upstreams.values(), ())
    return ImportResult(upstreams=snapshot.upstreams, unmapped=tuple(unmapped))


def _walk(
    configs: list[dict[str, Any]],
    file: str,
    statements: list[Stmt],
    context: tuple[str, ...],
    found: list[tuple[str, UpstreamSpec]],
    unmapped: list[str],
) -> None:
    for stmt in statements:
        name, where = stmt["directive"], f"{file}:{stmt['line']}"
        if name == "include":
            for index in stmt.get("includes", []):
                included = configs[index]
                _walk(configs, included["file"], included["parsed"], context, found, unmapped)
        elif name == "http" and context == ():
            _walk(configs, file, stmt.get("block", []), ("http",), found, unmapped)
        elif name == "upstream" and context in ((), ("http",)):
            upstream = _upstream(stmt, file, unmapped)
            if upstream is not None:
                found.append((where, upstream))
        else:
            what = f"{name} block" if "block" in stmt else f"directive {name}"
            unmapped.append(f"{where}: {what} not imported (only http upstream blocks are)")


def _upstream(stmt: Stmt, file: str, unmapped: list[str]) -> UpstreamSpec | None:
    name = stmt["args"][0] if stmt["args"] else ""
    where = f"{file}:{stmt['line']}"
    try:
        v.validate_name(name, "upstream name")
        fields, servers = _upstream_body(stmt.get("block", []), file, unmapped)
        upstream = UpstreamSpec(name=name, **fields, servers=tuple(servers))
        errors = find_errors(Snapshot(upstreams=(upstream,)))
        if errors:
            raise _Skip("; ".join(f"{e.field}: {e.message}" for e in errors))
    except (_Skip, ValueError) as exc:
        unmapped.append(f"{where}: upstream {ascii(name)[:70]} not imported: {exc}")
        return None
    return upstream


def _upstream_body(
    block: list[Stmt], file: str, unmapped: list[str]
) -> tuple[dict[str, Any], list[ServerSpec]]:
    fields: dict[str, Any] = {"algorithm": "round_robin", "keepalive": 0}
    servers: list[ServerSpec] = []
    for stmt in block:
        name, args = stmt["directive"], stmt["args"]
        here = f"{file}:{stmt['line']}"
        if name in ("least_conn", "ip_hash", "hash", "random"):
            if fields["algorithm"] != "round_robin":
                raise _Skip("more than one balancing method")
            fields.update(_algorithm(name, args))
        elif name == "keepalive" and len(args) == 1 and args[0].isdigit():
            fields["keepalive"] = int(args[0])
        elif name == "server" and args:
            server = _server(args, here, unmapped)
            if server is not None and any(s.key == server.key for s in servers):
                unmapped.append(f"{here}: server {server.key} listed twice; the first one was imported")
            elif server is not None:
                servers.append(server)
        else:
            unmapped.append(f"{here}: {name} {' '.join(args)} not imported".rstrip())
    return fields, servers


def _algorithm(name: str, args: list[str]) -> dict[str, Any]:
    if name in ("least_conn", "ip_hash") and not args:
        return {"algorithm": name}
    if name == "random" and args in (["two"], ["two", "least_conn"]):
        return {"algorithm": "random_two_least_conn"}
    if name == "hash" and args and args[1:] in ([], ["consistent"]):
        key = _HASH_KEYS.get(args[0])
        match = _HASH_VAR_RE.fullmatch(args[0])
        if key is None and match is not None:
            kind, var = match.groups()
            key = ("header", var.replace("_", "-")) if kind == "http" else ("cookie", var)
        if key is not None:
            consistent = args[1:] == ["consistent"]
            return {
                "algorithm": "hash",
                "hash_key": key[0],
                "hash_key_name": key[1],
                "hash_consistent": consistent,
            }
    raise _Skip(f"balancing method {' '.join([name, *args])} cannot be represented")


def _server(args: list[str], where: str, unmapped: list[str]) -> ServerSpec | None:
    try:
        address, port = _split_address(args[0])
        key = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        spec = ServerSpec(key=key, address=address, port=port)
        for param in args[1:]:
            spec = _server_param(spec, param, where, unmapped)
        for field in ("weight", "max_fails", "fail_timeout_s", "max_conns"):
            v.validate_bounded(getattr(spec, field), field)
    except (_Skip, ValueError) as exc:
        unmapped.append(f"{where}: server {ascii(args[0])[:70]} not imported: {exc}")
        return None
    return spec


def _split_address(text: str) -> tuple[str, int]:
    if text.startswith("unix:"):
        raise _Skip("unix sockets are not supported")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ("80" if not rest else "x")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, "80"
    if not port_text.isascii() or not port_text.isdigit():
        raise _Skip("the port is not a number")
    return v.validate_address(host), v.validate_port(int(port_text))


def _server_param(spec: ServerSpec, param: str, where: str, unmapped: list[str]) -> ServerSpec:
    name, has_value, value = param.partition("=")
    if not has_value and name in _SERVER_FLAGS:
        return dataclasses.replace(spec, **_SERVER_FLAGS[name])
    if has_value and name in ("weight", "max_fails", "max_conns") and value.isascii() and value.isdigit():
        counts: dict[str, Any] = {name: int(value)}
        return dataclasses.replace(spec, **counts)
    if has_value and name == "fail_timeout":
        seconds = _seconds(value)
        if seconds is not None:
            return dataclasses.replace(spec, fail_timeout_s=seconds)
    unmapped.append(f"{where}: server {spec.address}:{spec.port}: parameter {ascii(param)[:70]} not imported")
    return spec


def _seconds(text: str) -> int | None:
    """An nginx time ("30", "10s", "1m30s") in whole seconds, or None."""
    if not _TIME_RE.fullmatch(text):
        return None
    total_ms = sum(int(n) * _UNIT_MS[u or None] for n, u in _TIME_PART_RE.findall(text))
    return total_ms // 1000 if total_ms % 1000 == 0 else None
