"""Node-local files: the status listener and the per-port listen snippets."""

from nginx.compiler import render_node_files
from nginx.model import NodeParams


def test_it_renders_status_and_both_listen_variants_per_port():
    files = render_node_files(NodeParams("node-1", "127.0.0.1", 8099), 7, (8443, 8080))
    assert list(files) == [
        "node/listen/8080-default.conf",
        "node/listen/8080.conf",
        "node/listen/8443-default.conf",
        "node/listen/8443.conf",
        "node/status.conf",
    ]
    assert files["node/listen/8080.conf"] == "listen 127.0.0.1:8080;\n"
    assert files["node/listen/8080-default.conf"] == "listen 127.0.0.1:8080 default_server;\n"


def test_status_answers_revision_and_healthz_on_the_bind_address():
    text = render_node_files(NodeParams("node-1", "127.0.0.1", 8099), 42, ())["node/status.conf"]
    assert "listen 127.0.0.1:8099;" in text
    assert "location = /revision {" in text
    assert "return 200 '42\\n';" in text
    assert "location = /healthz {" in text
    assert "access_log off;" in text


def test_ipv6_bind_addresses_are_bracketed():
    files = render_node_files(NodeParams("node-1", "::1", 8099), 1, (8080,))
    assert files["node/listen/8080.conf"] == "listen [::1]:8080;\n"
    assert "listen [::1]:8099;" in files["node/status.conf"]


def test_only_the_revision_number_differs_between_revisions():
    params = NodeParams("node-1")
    one, two = render_node_files(params, 1, (8080,)), render_node_files(params, 2, (8080,))
    assert [path for path in one if one[path] != two[path]] == ["node/status.conf"]
