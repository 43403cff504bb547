"""Unit tests of the `nginx` package: pure Python, no nginx process, no Django.

Run with `-p no:django` until the Django settings exist. The repository root is put on sys.path
here because pytest's rootdir is not importable by default (pyproject has no `pythonpath`).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
