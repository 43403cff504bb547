"""Allow-list validators for health-check settings (pure functions, `ValueError` with an operator message).

Nothing here reaches nginx: checks are sent by the workers. They are strict anyway, because the values are
put on the wire to backends (path, headers) or run by the checker on every cycle (body patterns): a header
value with CR/LF would split the request, and a backtracking regular expression could stall a cycle.
Body patterns are therefore RE2 expressions (linear time, no backreferences), compiled when saved.
"""

from __future__ import annotations

import re
from typing import Any

import re2

from nginx import validation

STATUS_SET_MAX_LEN = 64
STATUS_SET_MAX_ITEMS = 16
BODY_PATTERN_MAX_LEN = 256
HEADERS_MAX = 16
HEADER_VALUE_MAX_LEN = 256
# The checker writes these itself; letting an operator set them would make requests ambiguous.
RESERVED_HEADERS = frozenset(
    {"connection", "content-length", "transfer-encoding", "te", "trailer", "upgrade", "keep-alive", "expect"}
)

_STATUS_ITEM_RE = re.compile(r"([0-9]{3})(?:-([0-9]{3}))?", re.ASCII)
_QUERY_RE = re.compile(r"[A-Za-z0-9._~=&%+-]{1,256}", re.ASCII)
_HEADER_VALUE_RE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?", re.ASCII)
_PRINTABLE_RE = re.compile(r"[\x20-\x7e]+", re.ASCII)


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # errors are returned to the operator, not printed by the C++ library
    options.max_mem = 1 << 20
    return options


def parse_status_set(value: object) -> tuple[tuple[int, int], ...]:
    """`"200-399"`, `"200,204"`, `"200-299,404"` → ranges; every code 100-599, ranges ascending."""
    if not isinstance(value, str) or not value:
        raise ValueError("expected statuses must be text such as 200-399 or 200,204")
    if len(value) > STATUS_SET_MAX_LEN:
        raise ValueError(f"expected statuses must be at most {STATUS_SET_MAX_LEN} characters")
    items = value.split(",")
    if len(items) > STATUS_SET_MAX_ITEMS:
        raise ValueError(f"expected statuses may list at most {STATUS_SET_MAX_ITEMS} codes or ranges")
    ranges = []
    for item in items:
        match = _STATUS_ITEM_RE.fullmatch(item)
        if not match:
            raise ValueError(
                f"expected statuses {ascii(item)[:40]} must be a code (200) or a range (200-399), "
                "separated by commas without spaces"
            )
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if not (100 <= low <= 599 and 100 <= high <= 599):
            raise ValueError(f"expected status {item} is outside 100-599")
        if low > high:
            raise ValueError(f"expected status range {item} must go from the lower to the higher code")
        ranges.append((low, high))
    return tuple(ranges)


def validate_status_set(value: object) -> str:
    parse_status_set(value)
    return str(value)


def status_expected(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def validate_check_path(value: object) -> str:
    """A path (route-prefix rules: `/` + unreserved characters) with an optional allow-listed query."""
    if not isinstance(value, str):
        raise ValueError("path must be text")
    path, sep, query = value.partition("?")
    validation.validate_path_prefix(path)
    if sep and not _QUERY_RE.fullmatch(query):
        raise ValueError("the query after '?' may contain only letters, digits and ._~=&%+-")
    return value


def validate_headers(value: object) -> dict[str, str]:
    """Extra request headers: at most 16, token names (not hop-by-hop ones), printable ASCII values."""
    if not isinstance(value, dict):
        raise ValueError("headers must be an object of header name to value")
    if len(value) > HEADERS_MAX:
        raise ValueError(f"at most {HEADERS_MAX} headers")
    seen: set[str] = set()
    for name, text in value.items():
        validation.validate_header_name(name)
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {name} is set by the checker and cannot be overridden")
        if name.lower() in seen:
            raise ValueError(f"header {name} is given twice")
        seen.add(name.lower())
        if not isinstance(text, str) or not _HEADER_VALUE_RE.fullmatch(text):
            raise ValueError(
                f"header {name}: the value must be 1-{HEADER_VALUE_MAX_LEN} printable ASCII characters "
                "without leading or trailing spaces"
            )
    return value


def validate_body_substring(value: object) -> str:
    if not isinstance(value, str) or not _PRINTABLE_RE.fullmatch(value):
        raise ValueError("the expected body text must be printable ASCII")
    if len(value) > BODY_PATTERN_MAX_LEN:
        raise ValueError(f"the expected body text must be at most {BODY_PATTERN_MAX_LEN} characters")
    return value


def compile_body_regex(value: object) -> Any:
    """Compile an RE2 pattern (linear-time matching; Perl backreferences and lookarounds are refused)."""
    text = validate_body_substring(value)
    try:
        return re2.compile(text, _re2_options())
    except re2.error as exc:
        detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"invalid regular expression: {detail}") from None
