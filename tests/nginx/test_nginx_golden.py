"""Golden files: rendered configs are reviewed in diffs and checked by the real `nginx -t`.

Regenerate on purpose only:
    LB_UPDATE_GOLDEN=1 .venv/bin/pytest tests/nginx/test_nginx_golden.py -p no:django
"""

import os
from pathlib import Path

import crossplane
import pytest
from nginx_golden_cases import CASES, NODE, REVISION

from nginx import process, staging
from nginx.compiler import compile_config, render_node_files
from tests.support.golden import assert_matches_golden, read_tree

GOLDEN = Path(__file__).parent / "golden"
CHECKSUMS = "checksums.txt"


def render(case: str) -> dict[str, str]:
    compiled = compile_config(CASES[case])
    files = {**compiled.files, **render_node_files(NODE, REVISION, compiled.listen_ports)}
    files[CHECKSUMS] = f"checksum {compiled.checksum}\nstructure_checksum {compiled.structure_checksum}\n"
    return files


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_files_match_the_golden_files(case):
    assert_matches_golden(GOLDEN / case, render(case))


def test_every_golden_directory_is_a_known_case():
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_nginx_accepts_every_golden_case(case, tmp_path):
    if not os.access(process.NGINX_BIN, os.X_OK):
        pytest.skip("nginx is not installed")
    staging.prepare_prefix(tmp_path)
    files = {p: t for p, t in read_tree(GOLDEN / case).items() if p != CHECKSUMS}
    staging.stage_revision(tmp_path, REVISION, files, "golden")
    passed, output = process.check_config(tmp_path, REVISION)
    assert passed, output
    assert "[warn]" not in output, output


_NGINX_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def nginx_unescape(arg: str) -> str:
    """What nginx's lexer makes of a token's backslash escapes (crossplane's parser keeps them raw)."""
    out, i = [], 0
    while i < len(arg):
        if arg[i] == "\\" and i + 1 < len(arg) and arg[i + 1] in _NGINX_ESCAPES:
            out.append(_NGINX_ESCAPES[arg[i + 1]])
            i += 2
        else:
            out.append(arg[i])
            i += 1
    return "".join(out)


def unescaped(tree: list[dict]) -> list[dict]:
    return [
        {"directive": d["directive"], "args": [nginx_unescape(a) for a in d["args"]]}
        | ({"block": unescaped(d["block"])} if "block" in d else {})
        for d in tree
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_files_parse_back_to_the_same_directives(case, tmp_path):
    """Tokens as nginx reads them rebuild to the same text: no argument was split, merged or altered."""
    for path, text in read_tree(GOLDEN / case).items():
        if path == CHECKSUMS:
            continue
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        parsed = crossplane.parse(str(target), single=True, check_ctx=False, check_args=False, comments=True)
        assert parsed["errors"] == [], parsed["errors"]
        tree = parsed["config"][0]["parsed"]
        assert crossplane.build(unescaped(tree), indent=4) + "\n" == text
