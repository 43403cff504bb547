"""The gateway's part of the revision's Lua: its module, and its data as one JSON document.

nginx allows one `init_by_lua_block` per http block, and the revision must be self-contained (no file
outside it, and nginx's workers cannot read the root-only revision directory), so the gateway module
(`nginx/lua/gateway.lua`, registered in `package.preload` as `lb.gateway`) and its data are inlined into
that one block: appended to the metrics block when metrics are on (`nginx.metrics.files`), or in
`gateway.conf` otherwise.

Operator values reach Lua only as data: the document (`document`) is JSON, base64-encoded into a
string literal that cannot contain a quote or a backslash, and decoded with cjson when nginx loads the
configuration — so `nginx -t` checks it, and a reload swaps it atomically with the rest.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from nginx import affinity, limits, routing
from nginx.directives import Directive
from nginx.model import Snapshot

HTTP_FILE = "gateway.conf"
LUA_FILE = Path(__file__).with_name("lua") / "gateway.lua"


def _module_source() -> str:
    code = LUA_FILE.read_text(encoding="ascii")
    if "\\" in code or "[[" in code or "]]" in code:
        raise ValueError(f"{LUA_FILE.name}: no backslash or double square bracket may appear in it")
    return f'package.preload["lb.gateway"] = function(...)\n{code}end\n'


_MODULE = _module_source()


def needs_lua(snapshot: Snapshot) -> bool:
    return any(routing.routed(vs) for vs in snapshot.virtual_servers) or any(
        affinity.uses_lua(u) for u in snapshot.upstreams
    )


def document(snapshot: Snapshot) -> dict[str, Any]:
    """Everything the Lua side reads: routed sites and cookie-affine upstreams."""
    return {
        "sites": {vs.name: routing.route_data(vs) for vs in snapshot.virtual_servers if routing.routed(vs)},
        "pools": {u.name: affinity.pool_data(u) for u in snapshot.upstreams if affinity.uses_lua(u)},
    }


def init_source(snapshot: Snapshot) -> str:
    """Lua for the revision's init block: register the module and load the data ("" if unused)."""
    if not needs_lua(snapshot):
        return ""
    blob = base64.b64encode(json.dumps(document(snapshot), sort_keys=True, separators=(",", ":")).encode())
    return f'{_MODULE}require("lb.gateway").load("{blob.decode()}")\n'


def http_directives(snapshot: Snapshot, lua_hosted: bool) -> list[Directive]:
    """http context hook: include gateway.conf when it has anything to say."""
    return [{"directive": "include", "args": [HTTP_FILE]}] if http_file(snapshot, lua_hosted) else []


def http_file(snapshot: Snapshot, lua_hosted: bool) -> list[Directive]:
    """gateway.conf: the limits' zones and maps, and the Lua init unless another block hosts it."""
    out = limits.http_directives(snapshot)
    source = init_source(snapshot)
    if source and not lua_hosted:
        out.append({"directive": "init_by_lua_block", "args": ["\n" + source]})
    return out


def files(snapshot: Snapshot, lua_hosted: bool) -> dict[str, list[Directive]]:
    """The gateway's compiled files (none when the snapshot uses no gateway feature)."""
    body = http_file(snapshot, lua_hosted)
    return {HTTP_FILE: body} if body else {}
