"""The pure compiler: layout, determinism, algorithms, members, retries, routes and default servers."""

import random

import pytest
from nginx_factories import replace, route, server, site, snapshot, upstream

from nginx.compiler import CompileError, checksum_files, compile_config, members_of
from nginx.model import RetryPolicy, Snapshot


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def compiled_upstream(up) -> list[str]:
    return lines(compile_config(snapshot((up,), ())).files[f"upstreams/{up.name}.conf"])


def compiled_site(*upstreams, vs=None) -> list[str]:
    vs = vs or site()
    return lines(
        compile_config(snapshot(tuple(upstreams) or (upstream(),), (vs,))).files[f"sites/{vs.name}.conf"]
    )


def test_it_lays_out_one_file_per_object():
    compiled = compile_config(
        snapshot((upstream("web"), upstream("api")), (site("shop"), site("blog", hostnames=())))
    )
    assert list(compiled.files) == sorted(compiled.files)
    assert set(compiled.files) == {
        "main.conf",
        "metrics.conf",
        "metrics/export.conf",
        "upstreams/api.conf",
        "upstreams/web.conf",
        "sites/blog.conf",
        "sites/shop.conf",
    }
    assert compiled.listen_ports == (8080,)


def test_main_conf_is_node_independent_and_prefix_relative():
    main = lines(compile_config(snapshot()).files["main.conf"])
    assert "pid logs/nginx.pid;" in main
    assert "error_log logs/error.log notice;" in main
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"{kind}_temp_path tmp/{kind};" in main
    assert main[:2] == [
        "load_module /usr/lib/nginx/modules/ndk_http_module.so;",
        "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;",
    ]
    assert "server_tokens off;" in main
    assert "map $http_upgrade $connection_upgrade {" in main
    assert "access_log logs/access.log lb_json buffer=64k flush=1s;" in main
    includes = [line for line in main if line.startswith("include ")]
    assert includes == [
        "include metrics.conf;",
        "include upstreams/web.conf;",
        "include default_servers.conf;",
        "include sites/shop.conf;",
        "include node/*.conf;",
    ]
    assert "127.0.0.1" not in "\n".join(main)


def test_same_snapshot_gives_byte_identical_output():
    first, second = compile_config(snapshot()), compile_config(snapshot())
    assert first.files == second.files
    assert first.checksum == second.checksum
    assert first.structure_checksum == second.structure_checksum


def test_input_order_does_not_change_output():
    servers = tuple(server(str(i), f"10.0.0.{i}", 8000 + i % 3, weight=i) for i in range(1, 9))
    ups = [upstream(f"u{i}", servers=servers) for i in range(5)]
    sites = [
        site(f"s{i}", hostnames=(f"b{i}.example.com", f"a{i}.example.com"), default_upstream=f"u{i}")
        for i in range(5)
    ]
    reference = compile_config(Snapshot.build(ups, sites))
    rng = random.Random(7)
    for _ in range(5):
        shuffled_ups = [replace(u, servers=tuple(rng.sample(u.servers, len(u.servers)))) for u in ups]
        shuffled_sites = [replace(s, hostnames=s.hostnames[::-1]) for s in sites]
        rng.shuffle(shuffled_ups)
        rng.shuffle(shuffled_sites)
        # Not even through Snapshot.build: the compiler canonicalizes on its own.
        again = compile_config(Snapshot(tuple(shuffled_ups), tuple(shuffled_sites)))
        assert again.files == reference.files
        assert again.checksum == reference.checksum


def test_checksum_is_unambiguous_over_paths_and_contents():
    assert checksum_files({"a": "bc"}) != checksum_files({"ab": "c"})
    assert checksum_files({"a": "x", "b": "y"}) == checksum_files({"b": "y", "a": "x"})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"algorithm": "round_robin"}, None),
        ({"algorithm": "least_conn"}, "least_conn;"),
        ({"algorithm": "ip_hash"}, "ip_hash;"),
        ({"algorithm": "random_two_least_conn"}, "random two least_conn;"),
        ({"algorithm": "hash", "hash_key": "client_ip"}, "hash $remote_addr;"),
        ({"algorithm": "hash", "hash_key": "uri", "hash_consistent": True}, "hash $request_uri consistent;"),
        (
            {"algorithm": "hash", "hash_key": "header", "hash_key_name": "X-Tenant-Id"},
            "hash $http_x_tenant_id;",
        ),
        ({"algorithm": "hash", "hash_key": "cookie", "hash_key_name": "sid"}, "hash $cookie_sid;"),
    ],
)
def test_every_algorithm_renders_before_members_and_keepalive(changes, expected):
    body = compiled_upstream(upstream(**changes))
    assert body[0] == "upstream web {"
    if expected is None:
        assert body[1].startswith("server ")
    else:
        assert body[1] == expected
    assert body[-3:] == ["keepalive 32;", "keepalive_timeout 60s;", "}"]


def test_member_lines_carry_every_parameter():
    up = upstream(
        "web",
        "least_conn",
        servers=(
            server("1", "10.0.0.1", 80, weight=3, max_fails=0, fail_timeout_s=5, max_conns=100),
            server("2", "2001:DB8::0:1", 80, backup=True),
            server("3", "Backend.Internal", 81, state="drain"),
            server("4", "10.0.0.4", 80, state="disabled", backup=True),
        ),
    )
    body = compiled_upstream(up)
    assert body[2:6] == [
        "server 10.0.0.1:80 weight=3 max_fails=0 fail_timeout=5s max_conns=100;",
        "server 10.0.0.4:80 weight=1 max_fails=3 fail_timeout=10s backup down;",
        "server [2001:db8::1]:80 weight=1 max_fails=3 fail_timeout=10s backup;",
        "server backend.internal:81 weight=1 max_fails=3 fail_timeout=10s down;",
    ]


def test_an_upstream_without_servers_gets_a_down_placeholder():
    body = compiled_upstream(upstream(servers=()))
    assert "server 127.0.0.1:1 down;" in body


def test_keepalive_zero_renders_no_keepalive_cache():
    body = compiled_upstream(upstream(keepalive=0))
    assert not any(line.startswith("keepalive") for line in body)


@pytest.mark.parametrize(
    "changes",
    [
        {"algorithm": "ip_hash"},
        {"algorithm": "random_two_least_conn"},
        {"algorithm": "hash", "hash_key": "uri"},
    ],
)
def test_backup_members_are_refused_for_hashing_and_random(changes):
    up = upstream(**changes, servers=(server("1"), server("2", "10.0.0.2", backup=True)))
    with pytest.raises(CompileError) as caught:
        compile_config(snapshot((up,), ()))
    assert (caught.value.obj_kind, caught.value.obj_name, caught.value.field) == (
        "upstream",
        "web",
        "servers[2].backup",
    )


def test_hash_settings_are_refused_for_other_algorithms():
    with pytest.raises(CompileError, match="only to the hash algorithm"):
        compile_config(snapshot((upstream(hash_key="uri"),), ()))


def test_hash_requires_a_key():
    with pytest.raises(CompileError, match="hash key"):
        compile_config(snapshot((upstream(algorithm="hash"),), ()))


def test_members_are_separate_from_structure():
    base = upstream(servers=(server("1", "10.0.0.1", weight=1), server("2", "10.0.0.2")))
    members_changed = upstream(
        servers=(server("1", "10.0.0.1", weight=5), server("3", "10.0.0.3", state="drain"))
    )
    a, b = compile_config(snapshot((base,), ())), compile_config(snapshot((members_changed,), ()))
    assert a.checksum != b.checksum
    assert a.structure_checksum == b.structure_checksum
    assert b.members["web"] == members_of(members_changed)
    assert [m.down for m in b.members["web"]] == [False, True]
    algorithm_changed = compile_config(snapshot((replace(base, algorithm="least_conn"),), ()))
    assert algorithm_changed.structure_checksum != a.structure_checksum


def test_locations_carry_proxy_headers_timeouts_and_retries():
    up = upstream(
        connect_timeout_ms=250,
        read_timeout_s=7,
        send_timeout_s=9,
        retry=RetryPolicy(("http_503", "error"), tries=2, timeout_s=4, non_idempotent=True),
    )
    body = compiled_site(up)
    for expected in [
        "proxy_pass http://web;",
        "proxy_http_version 1.1;",
        "proxy_set_header Host $host;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $host;",
        "proxy_set_header X-Request-ID $request_id;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_connect_timeout 250ms;",
        "proxy_read_timeout 7s;",
        "proxy_send_timeout 9s;",
        "proxy_next_upstream error http_503 non_idempotent;",
        "proxy_next_upstream_tries 2;",
        "proxy_next_upstream_timeout 4s;",
        "add_header X-Request-ID $request_id always;",
    ]:
        assert expected in body


def test_no_retry_conditions_turns_retries_off():
    body = compiled_site(upstream(retry=RetryPolicy(conditions=())))
    assert "proxy_next_upstream off;" in body


def test_retry_conditions_are_allow_listed():
    for bad in (("error", "error"), ("non_idempotent",), ("http_418",), ("off",)):
        with pytest.raises(CompileError, match=r"retry\.conditions"):
            compile_config(snapshot((upstream(retry=RetryPolicy(conditions=bad)),), ()))


def _after(body: list[str], line: str) -> list[str]:
    start = body.index(line)
    return body[start + 1 : body.index("}", start)]


def test_routes_are_matched_in_lua_and_proxied_from_named_locations():
    api = upstream("api")
    body = compiled_site(upstream(), api, vs=site(routes=(route("/api/", "api", strip_prefix=True),)))
    assert _after(body, "location / {") == ['rewrite_by_lua_block { require("lb.gateway").route() }']
    # The prefix is stripped by the Lua matcher (a named location's proxy_pass takes no URI part).
    assert "proxy_pass http://api;" in _after(body, "location @lb_ri0 {")
    assert "proxy_pass http://web;" in _after(body, "location @lb_default {")


def test_without_default_upstream_unrouted_paths_get_404():
    body = compiled_site(vs=site(default_upstream=None, routes=(route("/api/", "web"),)))
    assert _after(body, "location @lb_default {") == ["return 404;"]


def test_a_site_without_routes_keeps_its_plain_root_location():
    body = compiled_site()
    assert body.count("location / {") == 1
    assert "proxy_pass http://web;" in _after(body, "location / {")
    assert not any("lua" in line for line in body if "lb.metrics" not in line)


@pytest.mark.parametrize(
    "vs",
    [
        site(routes=(route("/api/", "nope"),)),
        site(default_upstream="nope"),
        site(http_ports=()),
        site(http_ports=(8080, 8080)),
        site(hostnames=("a.example.com", "A.example.com")),
    ],
)
def test_conflicting_or_dangling_site_settings_are_refused(vs):
    with pytest.raises(CompileError) as caught:
        compile_config(snapshot(sites=(vs,)))
    assert caught.value.obj_kind == "virtual_server"


def test_named_sites_use_plain_listens_and_a_404_default_server_owns_the_port():
    compiled = compile_config(snapshot(sites=(site(http_ports=(8080, 8443)),)))
    body = lines(compiled.files["sites/shop.conf"])
    assert body[1:4] == [
        "include node/listen/8080.conf;",
        "include node/listen/8443.conf;",
        "server_name shop.example.com;",
    ]
    defaults = lines(compiled.files["default_servers.conf"])
    assert "include node/listen/8080-default.conf;" in defaults
    assert "include node/listen/8443-default.conf;" in defaults
    assert defaults.count("return 404;") == 2


def test_a_catch_all_site_is_the_default_server_of_its_ports():
    compiled = compile_config(snapshot(sites=(site("any", hostnames=(), http_ports=(8080,)), site("named"))))
    body = lines(compiled.files["sites/any.conf"])
    assert body[1:3] == ["include node/listen/8080-default.conf;", "server_name _;"]
    assert "default_servers.conf" not in compiled.files


def test_ports_have_one_catch_all_and_each_hostname_once():
    with pytest.raises(CompileError, match="already has a catch-all"):
        compile_config(snapshot(sites=(site("a", hostnames=()), site("b", hostnames=()))))
    with pytest.raises(CompileError, match="already served by a"):
        compile_config(snapshot(sites=(site("a"), site("b", hostnames=("SHOP.example.com",)))))
    compile_config(snapshot(sites=(site("a"), site("b", http_ports=(9090,)))))


def test_duplicate_names_keys_and_members_are_refused():
    with pytest.raises(CompileError, match="same name"):
        compile_config(Snapshot((upstream(), upstream()), ()))
    with pytest.raises(CompileError, match="key '1' is used more than once"):
        compile_config(snapshot((upstream(servers=(server("1"), server("1", "10.0.0.9"))),), ()))
    with pytest.raises(CompileError, match="address:port"):
        compile_config(snapshot((upstream(servers=(server("1"), server("2"))),), ()))
    with pytest.raises(CompileError, match="address:port"):
        compile_config(snapshot((upstream(servers=(server("1", "::1"), server("2", "0:0::1"))),), ()))
    with pytest.raises(CompileError, match="address:port"):
        compile_config(
            snapshot((upstream(servers=(server("1", "A.internal"), server("2", "a.internal"))),), ())
        )


def test_wrong_types_are_compile_errors_not_crashes():
    for bad in (upstream(servers=[server()]), upstream(keepalive="32"), upstream(retry=None)):
        with pytest.raises(CompileError):
            compile_config(Snapshot((bad,), ()))
    with pytest.raises(CompileError):
        compile_config(Snapshot((), (site(hostnames="shop.example.com"),)))


def test_compile_error_names_object_and_field():
    error = CompileError("upstream", "web", "servers[3].port", "port must be between 1 and 65535")
    assert str(error) == "upstream 'web': servers[3].port: port must be between 1 and 65535"
    assert isinstance(error, ValueError)
