"""Pure compiler: `Snapshot` in, nginx configuration files and checksums out.

No I/O, no clock, no environment: the same snapshot always gives byte-identical files. Text is
produced only by `nginx.directives.build` (crossplane) from directive trees, which quotes every
argument; values are allow-listed first (`nginx.checks`), because quoting does not stop nginx from
expanding `$`.

Layout of one compiled revision (paths relative to the revision directory; nginx resolves
relative `include`s against the directory of main.conf, and pid/log/temp paths against the prefix):

    main.conf               node-independent main + http context, includes everything below
    upstreams/<name>.conf   one `upstream` block each
    default_servers.conf    a 404 default server for each port that has no catch-all virtual server
    sites/<name>.conf       one `server` block per virtual server
    metrics.conf, metrics/  data-plane metrics: shared dict, Lua, exporter allow-list (`nginx.metrics`)
    node/...                node-local files (`render_node_files`), written by the applier

Membership apart from structure (DESIGN decision 8): an upstream's members are computed by
`members_of` and rendered by `member_directives` alone, and `CompiledConfig.structure_checksum`
is the checksum of the files with the member lines left out. Two revisions with equal structure
checksums differ only in members, which a later Lua balancer can apply without a reload.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nginx import affinity, gateway_checks, gateway_lua, routing, tls, tls_checks
from nginx import metrics as metric_hooks
from nginx import validation as v
from nginx.checks import CompileError, find_errors
from nginx.directives import Directive, build, d
from nginx.model import NodeParams, RouteSpec, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec

__all__ = [
    "CompileError",
    "CompiledConfig",
    "Member",
    "checksum_files",
    "compile_config",
    "find_errors",
    "member_directives",
    "members_of",
    "render_node_files",
]


MODULES = (
    "/usr/lib/nginx/modules/ndk_http_module.so",
    "/usr/lib/nginx/modules/ngx_http_lua_module.so",
)
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# Stand-in member for an upstream without servers: nginx refuses an empty upstream block, and a
# `down` member is never contacted, so requests fail fast with 502 ("no live upstreams").
PLACEHOLDER_SERVER = ("127.0.0.1:1", "down")

_ACCESS_LOG_FORMAT = (
    '{"time":"$time_iso8601","request_id":"$request_id","remote_addr":"$remote_addr",'
    '"host":"$host","method":"$request_method","uri":"$request_uri","status":$status,'
    '"bytes_sent":$body_bytes_sent,"request_time":$request_time,"server_port":$server_port,'
    '"upstream":"$proxy_host","upstream_addr":"$upstream_addr","upstream_status":"$upstream_status",'
    '"upstream_connect_time":"$upstream_connect_time","upstream_header_time":"$upstream_header_time",'
    '"upstream_response_time":"$upstream_response_time"}'
)
_HASH_VARIABLES = {"client_ip": "$remote_addr", "uri": "$request_uri"}


@dataclass(frozen=True, slots=True)
class Member:
    """One rendered upstream member: what a reload-free balancer would need to know."""

    key: str
    endpoint: str  # host:port, IPv6 in brackets
    weight: int
    max_fails: int
    fail_timeout_s: int
    max_conns: int
    backup: bool
    state: str  # enabled | drain | disabled

    @property
    def down(self) -> bool:
        """Takes no new requests (see `ServerSpec` for why `drain` maps to down)."""
        return self.state != "enabled"


@dataclass(frozen=True, slots=True)
class CompiledConfig:
    """One compiled revision: its files, checksums and what the node must listen on.

    `checksum` covers every file; `structure_checksum` leaves out upstream member lines, so equal
    structure checksums mean "only members changed". `members` maps upstream name to members.
    """

    files: dict[str, str]
    checksum: str
    listen_ports: tuple[int, ...]
    structure_checksum: str = ""
    members: Mapping[str, tuple[Member, ...]] = field(default_factory=dict)


def compile_config(snapshot: Snapshot, *, metrics: bool = True) -> CompiledConfig:
    """Compile a snapshot; raises the first `CompileError` if any value is refused.

    `metrics=False` leaves out the data-plane metrics (`nginx.metrics`), e.g. to measure their cost.
    """
    errors = find_errors(snapshot) or tls_checks.find_errors(snapshot) or gateway_checks.find_errors(snapshot)
    if errors:
        raise errors[0]
    # Canonical order even if the caller skipped Snapshot.build: output must not depend on it.
    snapshot = Snapshot.build(snapshot.upstreams, snapshot.virtual_servers)
    members = {u.name: members_of(u) for u in snapshot.upstreams}
    ports = tuple(sorted({p for vs in snapshot.virtual_servers for p in vs.http_ports}))
    with metric_hooks.rendering(metrics):
        files, structure = _render_all(snapshot, members, ports)
    return CompiledConfig(
        files=files,
        checksum=checksum_files(files),
        listen_ports=ports,
        structure_checksum=checksum_files(structure),
        members=members,
    )


def checksum_files(files: Mapping[str, str]) -> str:
    """sha256 over sorted paths and contents, length-prefixed so no two file sets collide."""
    digest = hashlib.sha256()
    for path in sorted(files):
        path_bytes, body = path.encode(), files[path].encode()
        digest.update(b"%d:%s%d:" % (len(path_bytes), path_bytes, len(body)))
        digest.update(body)
    return digest.hexdigest()


def members_of(upstream: UpstreamSpec) -> tuple[Member, ...]:
    """The member part of an upstream, in canonical order (address, port, key)."""
    servers = sorted(upstream.servers, key=lambda s: (s.address, s.port, s.key))
    return tuple(
        Member(
            key=s.key,
            endpoint=_endpoint(s),
            weight=s.weight,
            max_fails=s.max_fails,
            fail_timeout_s=s.fail_timeout_s,
            max_conns=s.max_conns,
            backup=s.backup,
            state=s.state,
        )
        for s in servers
    )


def member_directives(members: Sequence[Member]) -> list[Directive]:
    """`server` directives for members (a `down` placeholder when there are none)."""
    if not members:
        return [d("server", *PLACEHOLDER_SERVER)]
    out = []
    for m in members:
        args = [m.endpoint, f"weight={m.weight}", f"max_fails={m.max_fails}"]
        args.append(f"fail_timeout={m.fail_timeout_s}s")
        if m.max_conns:
            args.append(f"max_conns={m.max_conns}")
        if m.backup:
            args.append("backup")
        if m.down:
            args.append("down")
        out.append(d("server", *args))
    return out


def render_node_files(params: NodeParams, revision: int, listen_ports: Sequence[int]) -> dict[str, str]:
    """Node-local files: the status listener and one pair of listen snippets per port.

    Each port gets `node/listen/<port>.conf` and `node/listen/<port>-default.conf` (the same
    listen plus `default_server`); the compiled sites pick one, so exactly one server per port is
    the default and one compiled revision serves nodes with different bind addresses. The listen
    snippets live in a subdirectory so that `include node/*.conf` (http context) skips them.
    Raises ValueError on invalid parameters.
    """
    v.validate_name(params.name, "node name")
    v.validate_ip(params.bind_address, "bind address")
    v.validate_port(params.status_port, "status port")
    v.validate_bounded(revision, "revision")
    for port in listen_ports:
        v.validate_port(port, "listen port")
    if params.status_port in listen_ports:
        raise ValueError(f"status port {params.status_port} is also a virtual server port")
    files = {"node/status.conf": build([_status_server(params, revision)])}
    for port in sorted(set(listen_ports)):
        address = _listen_address(params.bind_address, port)
        files[f"node/listen/{port}.conf"] = build([d("listen", address)])
        files[f"node/listen/{port}-default.conf"] = build([d("listen", address, "default_server")])
    return dict(sorted(files.items()))


def _render_all(
    snapshot: Snapshot, members: Mapping[str, tuple[Member, ...]], ports: tuple[int, ...]
) -> tuple[dict[str, str], dict[str, str]]:
    """All files, and the same files with upstream members left out (for the structure checksum)."""
    catch_all_ports = {p for vs in snapshot.virtual_servers if not vs.hostnames for p in vs.http_ports}
    default_ports = tuple(p for p in ports if p not in catch_all_ports)
    files = {"main.conf": build(_main_conf(snapshot, bool(default_ports)))}
    if default_ports:
        files["default_servers.conf"] = build([_default_server(p) for p in default_ports])
    for vs in snapshot.virtual_servers:
        files[f"sites/{vs.name}.conf"] = build(tls.site_servers(vs, _site(vs, snapshot), snapshot))
    files.update(tls.asset_files(snapshot))
    structure = dict(files)
    for upstream in snapshot.upstreams:
        path = f"upstreams/{upstream.name}.conf"
        files[path] = build([_upstream(upstream, member_directives(members[upstream.name]))])
        structure[path] = build([_upstream(upstream, [])])
    gateway_init = gateway_lua.init_source(snapshot)
    for path, (full, bare) in metric_hooks.files(snapshot, members, lua_extra=gateway_init).items():
        files[path], structure[path] = build(full), build(bare)
    for path, directives in gateway_lua.files(snapshot, _lua_hosted()).items():
        files[path] = structure[path] = build(directives)
    return dict(sorted(files.items())), dict(sorted(structure.items()))


def _endpoint(server: ServerSpec) -> str:
    address = v.normalize_address(server.address)
    return f"[{address}]:{server.port}" if ":" in address else f"{address}:{server.port}"


def _listen_address(bind_address: str, port: int) -> str:
    ip = ipaddress.ip_address(bind_address)
    return f"[{ip.compressed}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def _main_conf(snapshot: Snapshot, has_default_servers: bool) -> list[Directive]:
    return [
        *(d("load_module", path) for path in MODULES),
        d("pid", "logs/nginx.pid"),
        # notice level records reloads ("reconfiguring", bind retries), which the applier reads.
        d("error_log", "logs/error.log", "notice"),
        d("worker_processes", "auto"),
        d("worker_rlimit_nofile", "16384"),
        # Bounds how long a reload can keep old workers alive for long-lived connections.
        d("worker_shutdown_timeout", "30s"),
        d("events", block=[d("worker_connections", "4096")]),
        d("http", block=_http_block(snapshot, has_default_servers)),
    ]


def _http_block(snapshot: Snapshot, has_default_servers: bool) -> list[Directive]:
    includes = [d("include", f"upstreams/{u.name}.conf") for u in snapshot.upstreams]
    if has_default_servers:
        includes.append(d("include", "default_servers.conf"))
    includes += [d("include", f"sites/{vs.name}.conf") for vs in snapshot.virtual_servers]
    return [
        *(d(f"{name}_temp_path", f"tmp/{name}") for name in TEMP_PATHS),
        d("default_type", "application/octet-stream"),
        d("log_format", "lb_json", "escape=json", _ACCESS_LOG_FORMAT),
        # Buffered: one write per 64 KiB or per second instead of a write(2) per request.
        d("access_log", "logs/access.log", "lb_json", "buffer=64k", "flush=1s"),
        d("server_tokens", "off"),
        d("sendfile", "on"),
        d("tcp_nodelay", "on"),
        d("keepalive_timeout", "65s"),
        d("client_max_body_size", "10m"),
        # Empty for plain requests (keeps upstream keepalive working), "upgrade" for websockets.
        d("map", "$http_upgrade", "$connection_upgrade", block=[d("default", "upgrade"), d("", "")]),
        d("proxy_http_version", "1.1"),
        d("proxy_connect_timeout", "1000ms"),
        d("proxy_read_timeout", "30s"),
        d("proxy_send_timeout", "30s"),
        d("proxy_next_upstream", "error", "timeout"),
        d("proxy_next_upstream_tries", "3"),
        d("proxy_next_upstream_timeout", "10s"),
        *metric_hooks.http_directives(),
        *gateway_lua.http_directives(snapshot, _lua_hosted()),
        *includes,
        d("include", "node/*.conf"),
    ]


def _upstream(upstream: UpstreamSpec, servers: list[Directive]) -> Directive:
    # nginx requires the balancing method before `keepalive`.
    block = [*_algorithm(upstream), *servers]
    if upstream.keepalive:
        block += [d("keepalive", str(upstream.keepalive)), d("keepalive_timeout", "60s")]
    return d("upstream", upstream.name, block=block)


def _lua_hosted() -> bool:
    """Whether the metrics' init block hosts the gateway's Lua (one init block per http context)."""
    return bool(metric_hooks.http_directives())


def _algorithm(upstream: UpstreamSpec) -> list[Directive]:
    if upstream.sticky is not None:
        return affinity.balancing_directives(upstream)
    if upstream.algorithm == "least_conn":
        return [d("least_conn")]
    if upstream.algorithm == "ip_hash":
        return [d("ip_hash")]
    if upstream.algorithm == "random_two_least_conn":
        return [d("random", "two", "least_conn")]
    if upstream.algorithm == "hash":
        args = [_hash_variable(upstream)]
        if upstream.hash_consistent:
            args.append("consistent")
        return [d("hash", *args)]
    return []


def _hash_variable(upstream: UpstreamSpec) -> str:
    key, name = upstream.hash_key, upstream.hash_key_name
    if key in _HASH_VARIABLES:
        return _HASH_VARIABLES[key]
    if key == "header" and name is not None:
        return "$http_" + name.lower().replace("-", "_")
    if key == "cookie" and name is not None:
        return "$cookie_" + name
    # Unreachable after find_errors; kept so a bad key can never render as an empty argument.
    raise CompileError("upstream", upstream.name, "hash_key", "unsupported hash key")


def _site(vs: VirtualServerSpec, snapshot: Snapshot) -> Directive:
    catch_all = not vs.hostnames
    suffix = "-default" if catch_all else ""
    upstreams = {u.name: u for u in snapshot.upstreams}
    block = [d("include", f"node/listen/{port}{suffix}.conf") for port in vs.http_ports]
    block.append(d("server_name", *(sorted({h.lower() for h in vs.hostnames}) or ["_"])))
    block.append(d("add_header", "X-Request-ID", "$request_id", "always"))
    block += metric_hooks.server_directives(vs.name)
    if routing.handles(vs, upstreams):
        return d("server", block=block + routing.site_locations(vs, upstreams, _location))
    if vs.default_upstream is None:
        block.append(d("location", "/", block=[d("return", "404")]))
    else:
        root = RouteSpec(priority=0, path_prefix="/", upstream=vs.default_upstream)
        block.append(_location(("/",), root, upstreams[vs.default_upstream]))
    return d("server", block=block)


def _location(args: tuple[str, ...], route: RouteSpec, upstream: UpstreamSpec) -> Directive:
    target = f"http://{upstream.name}" + ("/" if route.strip_prefix else "")
    retry = upstream.retry
    conditions = [*retry.conditions, *(["non_idempotent"] if retry.non_idempotent else [])]
    return d(
        "location",
        *args,
        block=[
            *metric_hooks.location_directives(route.path_prefix, upstream.name),
            d("proxy_pass", target),
            d("proxy_http_version", "1.1"),
            d("proxy_set_header", "Host", "$host"),
            # The client address as seen here: client-supplied X-Forwarded-For is not trusted.
            d("proxy_set_header", "X-Forwarded-For", "$remote_addr"),
            d("proxy_set_header", "X-Forwarded-Proto", "$scheme"),
            d("proxy_set_header", "X-Forwarded-Host", "$host"),
            d("proxy_set_header", "X-Request-ID", "$request_id"),
            d("proxy_set_header", "Upgrade", "$http_upgrade"),
            d("proxy_set_header", "Connection", "$connection_upgrade"),
            d("proxy_connect_timeout", f"{upstream.connect_timeout_ms}ms"),
            d("proxy_read_timeout", f"{upstream.read_timeout_s}s"),
            d("proxy_send_timeout", f"{upstream.send_timeout_s}s"),
            d("proxy_next_upstream", *(conditions if retry.conditions else ["off"])),
            d("proxy_next_upstream_tries", str(retry.tries)),
            d("proxy_next_upstream_timeout", f"{retry.timeout_s}s"),
        ],
    )


def _default_server(port: int) -> Directive:
    return d(
        "server",
        block=[
            d("include", f"node/listen/{port}-default.conf"),
            d("server_name", "_"),
            d("add_header", "X-Request-ID", "$request_id", "always"),
            d("return", "404"),
        ],
    )


def _status_server(params: NodeParams, revision: int) -> Directive:
    def text(body: str) -> list[Directive]:
        return [d("default_type", "text/plain"), d("return", "200", body)]

    return d(
        "server",
        block=[
            d("listen", _listen_address(params.bind_address, params.status_port)),
            d("access_log", "off"),
            d("location", "=", "/revision", block=text(f"{revision}\n")),
            d("location", "=", "/healthz", block=text("ok\n")),
            *metric_hooks.status_locations(revision),
            d("location", "/", block=[d("return", "404")]),
        ],
    )
