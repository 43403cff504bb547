"""Label and field selectors, in both their query-string and their ``LabelSelector`` object forms.

The grammar follows ``k8s.io/apimachinery/pkg/labels``: comma-separated requirements that are
ANDed; ``=``/``==``/``!=``, ``in (...)``/``notin (...)``, ``key`` (exists) and ``!key``
(does not exist). A requirement on a missing key matches ``!=`` and ``notin``, as upstream.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import bad_request

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_SET_RE = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^)]*)\)\s*$")
_CMP_RE = re.compile(rf"^\s*({_KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


@dataclass(frozen=True)
class Requirement:
    """One ANDed clause of a selector."""

    key: str
    op: str  # "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op == "in":
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` value lists."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _parse_requirement(clause: str) -> Requirement:
    if m := _SET_RE.match(clause):
        values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
        return Requirement(m.group(1), m.group(2), values)
    if m := _CMP_RE.match(clause):
        return Requirement(m.group(1), "notin" if m.group(2) == "!=" else "in", frozenset({m.group(3)}))
    if m := _EXISTS_RE.match(clause):
        return Requirement(m.group(2), "!exists" if m.group(1) else "exists")
    raise bad_request(f"unable to parse requirement: {clause.strip()!r}")


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    if not text:
        return ()
    return tuple(_parse_requirement(c) for c in _split_top_level(text))


def matches(requirements: tuple[Requirement, ...], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in requirements)


def from_label_selector_object(selector: dict | None) -> tuple[Requirement, ...]:
    """Requirements of a ``LabelSelector`` (``matchLabels`` + ``matchExpressions``)."""
    selector = selector or {}
    reqs = [Requirement(k, "in", frozenset({v})) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in selector.get("matchExpressions") or []:
        reqs.append(Requirement(expr["key"], ops[expr["operator"]], frozenset(expr.get("values") or ())))
    return tuple(reqs)


def to_string(requirements: tuple[Requirement, ...]) -> str:
    """Render requirements back to query-string form (``Scale.status.selector`` uses this)."""
    out = []
    for r in sorted(requirements, key=lambda r: r.key):
        values = ",".join(sorted(r.values))
        if r.op == "exists":
            out.append(r.key)
        elif r.op == "!exists":
            out.append(f"!{r.key}")
        elif r.op == "in" and len(r.values) == 1:
            out.append(f"{r.key}={values}")
        else:
            out.append(f"{r.key} {r.op} ({values})")
    return ",".join(out)


# Field selectors: the real server supports a per-resource set; every resource supports these two.
_FIELDS: dict[str, Callable[[dict], str]] = {
    "metadata.name": lambda o: o["metadata"].get("name", ""),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
}


def parse_field_selector(text: str | None) -> Callable[[dict], bool]:
    if not text:
        return lambda _obj: True
    checks = []
    for clause in _split_top_level(text):
        m = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", clause)
        if not m:
            raise bad_request(f"invalid field selector: {clause.strip()!r}")
        field, op, value = m.groups()
        if field not in _FIELDS:
            raise bad_request(f'field label not supported: "{field}"')
        checks.append((_FIELDS[field], op == "!=", value))
    return lambda obj: all((get(obj) == value) != negate for get, negate, value in checks)
