"""Data-plane metrics: the directives that make nginx count its own traffic and export it.

nginx counts in Lua (`nginx/lua/metrics.lua`, module `lb.metrics`) into the `lb_metrics` shared dict,
which survives reloads, and the node's status listener answers `/metrics` in Prometheus text format
(`nginx/lua/exporter.lua`, module `lb.exporter`). What the compiler adds, through the hooks below:

    metrics.conf             http context: the shared dict, the Lua code (inlined: the revision is
                             self-contained and its checksum covers the code), the flush timer,
                             and the `map` that declares $lb_series
    metrics/export.conf      body of the status listener's `location = /metrics`: the allow-list of
                             label sets the exporter may show, then the exporter
    sites/<vs>.conf          `set $lb_vs <vs>` and `log_by_lua_block` (count every request)
    proxied locations        `set $lb_location "$lb_vs <route> <upstream>"` and a `set_by_lua_block`
                             that counts the request in flight and names its label set ($lb_series)
    node/status.conf         `location = /metrics` (includes metrics/*.conf) and an internal
                             `location = /stub_status` for nginx's own connection counters

Cost (`loadtests.metrics_overhead`): the fixed price of running any Lua log handler dominates (0.6 to
1.3 µs per request measured here with an empty `log_by_lua_block`); the counting adds about 0.7 µs,
because each worker counts in Lua tables (flushed to the shared dict once a second) and the request
path is compilable by LuaJIT.

Labels come only from the compiled configuration (validated names, path prefixes and member
addresses, plus the server addresses nginx itself puts in `$upstream_addr`), never from requests, so
the label sets are bounded by the configuration; the allow-list makes the exporter drop (and delete)
the series of objects that were removed. Members given as host names are reported by nginx under
their resolved addresses, so an upstream with such members allows any address ("resolved" entry).
Membership is part of the allow-list, so `files` returns a second rendering without it for the
structure checksum.

Turning metrics off is a compile option (`compile_config(snapshot, metrics=False)`), rendered through
`rendering` so that the switch does not have to be threaded through every builder of the compiler.
Lua code never contains an operator value: names reach Lua only as nginx directive arguments.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nginx.directives import Directive, d
from nginx.model import Snapshot, VirtualServerSpec

if TYPE_CHECKING:
    from nginx.compiler import Member


DICT_NAME = "lb_metrics"
# Keys are bounded by the configuration (about 20 per route and per server, ~150 bytes each): 16 MB
# holds several thousand servers. Changing the size makes nginx allocate a new, empty zone.
DICT_SIZE = "16m"
HTTP_FILE = "metrics.conf"
EXPORT_FILE = "metrics/export.conf"
LUA_DIR = Path(__file__).with_name("lua")
LUA_MODULES = (("lb.metrics", "metrics.lua"), ("lb.exporter", "exporter.lua"))

_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("lb_metrics_enabled", default=True)
_ENTER = ' return require("lb.metrics").enter() '
_LOG = ' require("lb.metrics").log() '


def lua_source() -> str:
    """The Lua modules as one `init_by_lua_block` body (each registered in `package.preload`).

    Raises ValueError for a backslash or a long bracket (`[[`, `[=`): crossplane's Lua lexer, which
    parses the block back (golden tests, the importer), knows neither escapes nor long strings.
    """
    parts = ["\n"]
    for module, filename in LUA_MODULES:
        code = (LUA_DIR / filename).read_text(encoding="ascii")
        if any(token in code for token in ("\\", "[[", "[=")):
            raise ValueError(f"{filename}: a backslash or a long bracket cannot be inlined into nginx.conf")
        parts.append(f'package.preload["{module}"] = function(...)\n{code}end\n')
    parts.extend(f'require("{module}")\n' for module, _ in LUA_MODULES)
    parts.append('require("lb.metrics").config_loaded()\n')
    return "".join(parts)


_LUA_SOURCE = lua_source()


@contextlib.contextmanager
def rendering(enabled: bool) -> Iterator[None]:
    """Render with metrics on or off for the duration of one compile."""
    token = _ENABLED.set(enabled)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def http_directives() -> list[Directive]:
    """http context: load the shared dict and the Lua code (nothing when metrics are off)."""
    return [d("include", HTTP_FILE)] if _ENABLED.get() else []


def server_directives(vs_name: str) -> list[Directive]:
    """`server` block of a virtual server: who it is, and count each of its requests when logged."""
    if not _ENABLED.get():
        return []
    return [d("set", "$lb_vs", vs_name), d("log_by_lua_block", _LOG)]


def location_directives(route_prefix: str, upstream: str) -> list[Directive]:
    """A proxied `location`: name its label set and count the request as in flight to `upstream`.

    `set_by_lua_block` without arguments: the variant with arguments costs ~3 µs per request here.
    """
    if not _ENABLED.get():
        return []
    return [
        d("set", "$lb_location", f"$lb_vs {route_prefix} {upstream}"),
        d("set_by_lua_block", "$lb_series", _ENTER),
    ]


def status_locations(revision: int) -> list[Directive]:
    """Locations of the node's status listener: /metrics, and nginx's stub_status for the exporter.

    The body of /metrics comes from the revision (`metrics/*.conf`); a glob, so that revisions
    compiled before metrics existed still load (and answer 404 there).
    """
    return [
        d(
            "location",
            "=",
            "/metrics",
            block=[d("set", "$lb_revision", str(revision)), d("include", "metrics/*.conf")],
        ),
        d("location", "=", "/stub_status", block=[d("internal"), d("stub_status")]),
    ]


def files(
    snapshot: Snapshot, members: Mapping[str, Sequence[Member]], lua_extra: str = ""
) -> dict[str, tuple[list[Directive], list[Directive]]]:
    """Compiled metrics files: path → (directives, directives without members for the structure checksum).

    `lua_extra` is appended to the init block: nginx allows one per http context, so other features'
    Lua (the gateway's, `nginx.gateway_lua`) shares it.
    """
    if not _ENABLED.get():
        off = [d("return", "404")]
        return {EXPORT_FILE: (off, off)}
    http = [
        # Declared by a map (not `set`): read before any location sets it, it is "" without a
        # warning, and a server's rewrite phase, rerun by an internal redirect, does not reset it.
        d("map", "", "$lb_series", block=[d("default", "")]),
        d("lua_shared_dict", DICT_NAME, DICT_SIZE),
        d("init_by_lua_block", _LUA_SOURCE + lua_extra),
        d("init_worker_by_lua_block", ' require("lb.metrics").init_worker() '),
    ]
    structure = _structure_entries(snapshot)
    full = sorted({*structure, *_member_entries(members)})
    return {HTTP_FILE: (http, http), EXPORT_FILE: (_export_block(full), _export_block(sorted(structure)))}


def _export_block(entries: Sequence[str]) -> list[Directive]:
    allow = [d("set", f"$lb_allow_{n}", entry) for n, entry in enumerate(entries, start=1)]
    return [*allow, d("content_by_lua_block", ' require("lb.exporter").serve() ')]


def _structure_entries(snapshot: Snapshot) -> set[str]:
    entries = {f"upstream {u.name}" for u in snapshot.upstreams}
    for vs in snapshot.virtual_servers:
        entries.add(f"site {vs.name}")
        entries.update(f"route {vs.name} {prefix} {upstream}" for prefix, upstream in _routes(vs))
    return entries


def _routes(vs: VirtualServerSpec) -> set[tuple[str, str]]:
    """(route label, upstream) of every proxied location, the default upstream's `/` included."""
    # Routes proxy to their upstream and canary; the default upstream keeps its own `/` location.
    targets = [(r.path_prefix, u) for r in vs.routes for u in (r.upstream, r.canary and r.canary.upstream)]
    routes = {(prefix, upstream) for prefix, upstream in targets if upstream}
    if vs.default_upstream is not None:
        routes.add(("/", vs.default_upstream))
    return routes


def _member_entries(members: Mapping[str, Sequence[Member]]) -> set[str]:
    entries = set()
    for upstream, group in members.items():
        for member in group:
            host = member.endpoint.rsplit(":", 1)[0].strip("[]")
            try:
                ipaddress.ip_address(host)
            except ValueError:
                entries.add(f"resolved {upstream}")
            else:
                entries.add(f"server {upstream} {member.endpoint}")
    return entries
