"""TLS golden files: reviewed in diffs, accepted by the real `nginx -t` with certificates staged root-only.

Regenerate on purpose only:
    LB_UPDATE_GOLDEN=1 .venv/bin/pytest tests/tls/test_tls_golden.py
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nginx import process, staging, tls
from nginx.compiler import compile_config, render_node_files
from tests.support.golden import assert_matches_golden, read_tree
from tests.tls import pki
from tests.tls.tls_golden_cases import CASES, NODE, REVISION

GOLDEN = Path(__file__).parent / "golden"


def render(case: str) -> dict[str, str]:
    compiled = compile_config(CASES[case])
    node = render_node_files(NODE, REVISION, compiled.listen_ports)
    node.update(tls.render_node_files(NODE, tls.https_ports_of(compiled.files)))
    return {**compiled.files, **node}


def certificate_files(files: dict[str, str]) -> dict[str, bytes]:
    """What the node agent would write: a chain (leaf + intermediate, OCSP URL) and key per manifest entry."""
    root = pki.make_ca("golden root")
    intermediate = pki.make_ca("golden intermediate", issuer=root)
    out = {}
    for entry in tls.manifest_entries(files):
        leaf = pki.issue(intermediate, ["golden.example.com"], ocsp_url="http://127.0.0.1:9/ocsp")
        out[entry["chain"]] = leaf.chain_pem.encode()
        out[entry["key"]] = leaf.key_pem.encode()
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_tls_files_match_the_golden_files(case):
    assert_matches_golden(GOLDEN / case, render(case))


def test_every_tls_golden_directory_is_a_known_case():
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_nginx_accepts_every_tls_golden_case_with_root_only_key_files(case, tmp_path):
    staging.prepare_prefix(tmp_path)
    files = read_tree(GOLDEN / case)
    secrets = certificate_files(files)
    directory = staging.stage_revision(tmp_path, REVISION, files, "golden", secrets)
    for path in secrets:
        assert stat.S_IMODE((directory / path).stat().st_mode) == 0o600
        assert stat.S_IMODE((directory / path).parent.stat().st_mode) == 0o700
    passed, output = process.check_config(tmp_path, REVISION)
    assert passed, output
    assert "[warn]" not in output, output
