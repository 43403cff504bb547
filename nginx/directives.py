"""The one directive builder: every line of the generated configuration is a crossplane node made by `d`
and rendered by `build`, which quotes every argument (so no operator value can end a directive or open a
block)."""

from __future__ import annotations

from typing import Any

import crossplane

Directive = dict[str, Any]


def d(directive: str, *args: str, block: list[Directive] | None = None) -> Directive:
    node: Directive = {"directive": directive, "args": list(args)}
    if block is not None:
        node["block"] = block
    return node


def build(payload: list[Directive]) -> str:
    return str(crossplane.build(payload, indent=4)) + "\n"
