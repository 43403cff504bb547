"""Golden-file trees: rendered config files compared with the reviewed copies under a test's `golden/`.

Regenerate on purpose only, by running the golden test with `LB_UPDATE_GOLDEN=1`, and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

UPDATE = os.environ.get("LB_UPDATE_GOLDEN") == "1"


def read_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_matches_golden(expected_dir: Path, rendered: dict[str, str]) -> None:
    """Every rendered file equals its golden copy, and no golden file is left over (or rewrite them all)."""
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for path, text in rendered.items():
            (expected_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / path).write_text(text)
    golden = read_tree(expected_dir)
    assert sorted(golden) == sorted(rendered), "file set changed; regenerate with LB_UPDATE_GOLDEN=1"
    for path, text in rendered.items():
        assert golden[path] == text, f"{expected_dir.name}/{path} differs; regenerate with LB_UPDATE_GOLDEN=1"
