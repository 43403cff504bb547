"""Hostile input in every text field of the snapshot and node parameters: refused, nothing rendered."""

import pytest
from nginx_factories import replace, route, server, site, snapshot, upstream
from nginx_hostile import hostile_variants

from nginx.compiler import CompileError, compile_config, render_node_files
from nginx.model import NodeParams, RetryPolicy


def _with_server(**changes):
    return snapshot((upstream(servers=(server(**changes),)),))


def _with_hash(kind, name):
    return snapshot((upstream(algorithm="hash", hash_key=kind, hash_key_name=name),))


# field -> (valid value, snapshot builder taking the value)
FIELDS = {
    "upstream.name": ("web", lambda x: snapshot((upstream(x),), (site(default_upstream=x),))),
    "upstream.algorithm": ("least_conn", lambda x: snapshot((upstream(algorithm=x),))),
    "upstream.hash_key": ("uri", lambda x: snapshot((upstream(algorithm="hash", hash_key=x),))),
    "upstream.hash_key_name(header)": ("X-Tenant", lambda x: _with_hash("header", x)),
    "upstream.hash_key_name(cookie)": ("sid", lambda x: _with_hash("cookie", x)),
    "retry.conditions": ("timeout", lambda x: snapshot((upstream(retry=RetryPolicy(conditions=(x,))),))),
    "server.key": ("17", lambda x: _with_server(key=x)),
    "server.address": ("backend.internal", lambda x: _with_server(address=x)),
    "server.state": ("drain", lambda x: _with_server(state=x)),
    "virtual_server.name": ("shop", lambda x: snapshot(sites=(site(x),))),
    "virtual_server.hostnames": ("shop.example.com", lambda x: snapshot(sites=(site(hostnames=(x,)),))),
    "virtual_server.default_upstream": ("web", lambda x: snapshot(sites=(site(default_upstream=x),))),
    "route.path_prefix": ("/api/", lambda x: snapshot(sites=(site(routes=(route(x),)),))),
    "route.upstream": ("web", lambda x: snapshot(sites=(site(routes=(route("/api/", x),)),))),
}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_the_valid_base_value_compiles(field):
    good, build = FIELDS[field]
    compile_config(build(good))


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_every_hostile_variant_is_a_compile_error(field):
    good, build = FIELDS[field]
    tokens = field.endswith(("key", "(header)", "(cookie)"))
    for value in hostile_variants(good, tokens=tokens):
        try:
            compiled = compile_config(build(value))
        except CompileError:
            continue
        # Only values that are legal in their grammar may compile (e.g. "_" is a valid key).
        assert tokens and value in ("*", "_", "-", "~.*"), f"{field}={value!r} compiled"
        assert all(value not in text for text in compiled.files.values() if len(value) > 1)


def test_integer_fields_refuse_out_of_range_and_non_integers():
    for changes in (
        {"port": 0},
        {"port": 70000},
        {"weight": 0},
        {"weight": "3"},
        {"max_conns": -1},
        {"fail_timeout_s": 0},
        {"backup": 1},
        {"max_fails": 1.5},
    ):
        with pytest.raises(CompileError):
            compile_config(_with_server(**changes))
    for changes in (
        {"keepalive": 5000},
        {"connect_timeout_ms": 0},
        {"read_timeout_s": 10**6},
        {"hash_consistent": 1},
    ):
        with pytest.raises(CompileError):
            compile_config(snapshot((upstream(**changes),)))
    for retry in (RetryPolicy(tries=0), RetryPolicy(timeout_s=0), RetryPolicy(non_idempotent="yes")):
        with pytest.raises(CompileError):
            compile_config(snapshot((upstream(retry=retry),)))
    with pytest.raises(CompileError):
        compile_config(snapshot(sites=(site(routes=(route(priority=-1),)),)))


@pytest.mark.parametrize(("field", "good"), [("name", "node-1"), ("bind_address", "127.0.0.1")])
def test_node_parameters_are_validated_too(field, good):
    for value in hostile_variants(good):
        with pytest.raises(ValueError):
            render_node_files(replace(NodeParams("node-1"), **{field: value}), 1, (8080,))


def test_node_files_refuse_bad_ports_and_revisions():
    params = NodeParams("node-1", status_port=8099)
    for revision, ports in ((-1, ()), ("1", ()), (1, (0,)), (1, (8099,)), (True, ())):
        with pytest.raises(ValueError):
            render_node_files(params, revision, ports)
