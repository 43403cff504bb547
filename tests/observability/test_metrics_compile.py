"""What the compiler adds for data-plane metrics: Lua only as static code, labels only from the config."""

from __future__ import annotations

import os

import pytest

from nginx import metrics, process, staging
from nginx.compiler import compile_config, render_node_files
from nginx.model import NodeParams, RouteSpec, ServerSpec, Snapshot, UpstreamSpec, VirtualServerSpec

NODE = NodeParams(name="obs", bind_address="127.0.0.1", status_port=8099)


def snapshot(*servers: ServerSpec) -> Snapshot:
    upstreams = [
        UpstreamSpec("web", "round_robin", servers=servers),
        UpstreamSpec("api", "least_conn", servers=(ServerSpec("9", "2001:db8::9", 8443),)),
    ]
    site = VirtualServerSpec(
        "shop", ("shop.example.com",), (8080,), "web", routes=(RouteSpec(1, "/api", "api"),)
    )
    return Snapshot.build(upstreams, [site])


PAIR = (ServerSpec("1", "10.0.0.1", 80), ServerSpec("2", "10.0.0.2", 80))


def test_the_exporter_allow_list_names_every_configured_label_set_and_nothing_else():
    export = compile_config(snapshot(*PAIR)).files[metrics.EXPORT_FILE]
    entries = sorted(
        line.split(" ", 2)[2].strip("';") for line in export.splitlines() if "$lb_allow_" in line
    )
    assert entries == [
        "route shop / web",
        "route shop /api api",
        "server api [2001:db8::9]:8443",
        "server web 10.0.0.1:80",
        "server web 10.0.0.2:80",
        "site shop",
        "upstream api",
        "upstream web",
    ]


def test_host_name_members_allow_whatever_address_nginx_resolves_them_to():
    export = compile_config(snapshot(ServerSpec("1", "backend.example.com", 80))).files[metrics.EXPORT_FILE]
    assert "resolved web" in export and "backend.example.com" not in export


def test_a_change_of_members_alone_keeps_the_structure_checksum():
    before, after = compile_config(snapshot(*PAIR)), compile_config(snapshot(PAIR[0]))
    assert before.checksum != after.checksum
    assert before.structure_checksum == after.structure_checksum


def test_metrics_off_leaves_out_every_metrics_directive_and_the_exporter_answers_404():
    compiled = compile_config(snapshot(*PAIR), metrics=False)
    markers = ("lb.metrics", "lb.exporter", metrics.DICT_NAME, "$lb_series", "$lb_vs", "$lb_location")
    assert not [m for m in markers for text in compiled.files.values() if m in text]
    assert compiled.files[metrics.EXPORT_FILE].strip() == "return 404;"
    assert metrics.HTTP_FILE not in compiled.files


def test_lua_reaches_nginx_only_as_static_code():
    compiled = compile_config(snapshot(*PAIR))
    code = compiled.files[metrics.HTTP_FILE]
    for name in ("shop", "web", "10.0.0.1"):
        assert name not in code
    assert "\\" not in metrics.lua_source()  # crossplane's Lua lexer could not read it back


def test_the_status_listener_serves_metrics_from_the_revision():
    status = render_node_files(NODE, 7, (8080,))["node/status.conf"]
    assert "location = /metrics {\n        set $lb_revision 7;\n        include metrics/*.conf;" in status
    assert "location = /stub_status {\n        internal;\n        stub_status;" in status


@pytest.mark.parametrize("enabled", [True, False])
def test_nginx_accepts_the_config_with_metrics_on_and_off(tmp_path, enabled):
    if not os.access(process.NGINX_BIN, os.X_OK):
        pytest.fail(f"{process.NGINX_BIN} is missing")
    compiled = compile_config(snapshot(*PAIR), metrics=enabled)
    files = {**compiled.files, **render_node_files(NODE, 1, compiled.listen_ports)}
    staging.prepare_prefix(tmp_path)
    staging.stage_revision(tmp_path, 1, files, compiled.checksum)
    passed, output = process.check_config(tmp_path, 1)
    assert passed, output
    assert "[warn]" not in output, output
