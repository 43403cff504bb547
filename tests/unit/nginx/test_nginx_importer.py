"""Importing upstream blocks from an existing nginx configuration."""

import textwrap

import pytest

from nginx.compiler import compile_config
from nginx.importer import import_config
from nginx.model import ServerSpec, Snapshot


@pytest.fixture
def write(tmp_path):
    def write(name: str, text: str):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write


def by_name(result):
    return {u.name: u for u in result.upstreams}


def test_it_maps_algorithms_members_and_keepalive(write):
    write("conf.d/extra.conf", "upstream sticky { hash $cookie_sid consistent; server [::1]:81 down; }\n")
    path = write(
        "nginx.conf",
        """
        events {}
        http {
            include conf.d/*.conf;
            upstream app {
                least_conn;
                server 10.0.0.1:8080 weight=5 max_fails=2 fail_timeout=1m30s max_conns=7;
                server localhost backup;
                keepalive 16;
            }
            upstream hdr { hash $http_x_tenant_id; server 10.0.0.2:80 drain; }
            upstream rnd { random two; server 10.0.0.3:80; }
            upstream ip { ip_hash; server 10.0.0.4; }
        }
        """,
    )
    upstreams = by_name(import_config(path))
    app = upstreams["app"]
    assert (app.algorithm, app.keepalive) == ("least_conn", 16)
    assert app.servers == (
        ServerSpec("10.0.0.1:8080", "10.0.0.1", 8080, weight=5, max_fails=2, fail_timeout_s=90, max_conns=7),
        ServerSpec("localhost:80", "localhost", 80, backup=True),
    )
    sticky = upstreams["sticky"]
    assert (sticky.hash_key, sticky.hash_key_name, sticky.hash_consistent) == ("cookie", "sid", True)
    assert sticky.keepalive == 0
    assert sticky.servers[0].state == "disabled"
    assert sticky.servers[0].key == "[::1]:81"
    assert (upstreams["hdr"].hash_key, upstreams["hdr"].hash_key_name) == ("header", "x-tenant-id")
    assert upstreams["hdr"].servers[0].state == "drain"
    assert upstreams["rnd"].algorithm == "random_two_least_conn"
    assert upstreams["ip"].servers[0].port == 80
    compile_config(Snapshot.build(upstreams.values(), ()))


def test_everything_else_is_reported_with_file_and_line(write):
    path = write(
        "nginx.conf",
        """\
        user www-data;
        events {}
        http {
            upstream app {
                server 10.0.0.1:80 slow_start=30s;
                server unix:/run/app.sock;
                zone app 64k;
            }
            server { listen 80; }
        }
        stream { upstream db { server 10.0.0.9:5432; } }
        """,
    )
    result = import_config(path)
    assert [u.name for u in result.upstreams] == ["app"]
    assert [s.address for s in result.upstreams[0].servers] == ["10.0.0.1"]
    unmapped = "\n".join(result.unmapped)
    for expected in [
        f"{path}:1: directive user not imported",
        f"{path}:2: events block not imported",
        f"{path}:5: server 10.0.0.1:80: parameter 'slow_start=30s' not imported",
        f"{path}:6: server 'unix:/run/app.sock' not imported: unix sockets are not supported",
        f"{path}:7: zone app 64k not imported",
        f"{path}:9: server block not imported",
        f"{path}:11: stream block not imported",
    ]:
        assert expected in unmapped


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ("upstream Bad.Name { server 10.0.0.1; }", "upstream 'Bad.Name' not imported"),
        ("upstream h { hash $remote_addr$request_uri; server 10.0.0.1; }", "cannot be represented"),
        ("upstream h { hash $http_x_a; server 10.0.0.1 backup; }", "backup servers are not supported"),
        ("upstream r { random; server 10.0.0.1; }", "balancing method random cannot be represented"),
        ("upstream t { least_conn; ip_hash; server 10.0.0.1; }", "more than one balancing method"),
    ],
)
def test_upstreams_that_would_balance_differently_are_left_out(write, block, reason):
    result = import_config(write("nginx.conf", f"events {{}}\nhttp {{ {block} }}\n"))
    assert result.upstreams == ()
    assert any(reason in line for line in result.unmapped), result.unmapped


@pytest.mark.parametrize(
    ("server", "reason"),
    [
        ("server 10.0.0.1:99999;", "port must be between"),
        ("server bad_host.example:80;", "address"),
        ("server 10.0.0.1:http;", "port is not a number"),
        ("server 10.0.0.1 weight=0;", "weight must be between"),
    ],
)
def test_invalid_servers_are_reported_and_the_rest_imported(write, server, reason):
    text = f"events {{}}\nhttp {{ upstream a {{ server 10.0.0.7:80; {server} }} }}\n"
    result = import_config(write("nginx.conf", text))
    assert any(reason in line for line in result.unmapped), result.unmapped
    assert [s.key for s in result.upstreams[0].servers] == ["10.0.0.7:80"]


def test_parse_errors_are_reported_not_raised(write, tmp_path):
    result = import_config(write("nginx.conf", "http { upstream a { server 10.0.0.1;\n"))
    assert result.upstreams == ()
    assert any(
        line.startswith(f"{tmp_path}/nginx.conf:") and "parse error" in line for line in result.unmapped
    )


def test_a_missing_file_is_reported(tmp_path):
    result = import_config(tmp_path / "nope.conf")
    assert result.upstreams == ()
    assert "No such file" in result.unmapped[0]


def test_a_second_definition_of_a_name_is_reported(write):
    path = write(
        "nginx.conf", "http {\nupstream a { server 10.0.0.1; }\nupstream a { server 10.0.0.2; }\n}\n"
    )
    result = import_config(path)
    assert [s.address for s in result.upstreams[0].servers] == ["10.0.0.1"]
    assert f"{path}:3: upstream a defined again; the first one was imported" in result.unmapped
