"""Allow-list validators for every operator value that can reach nginx configuration.

Pure functions shared by the Django layer (field-level form/serializer errors) and the compiler
(defence in depth). Convention: each `validate_*` function returns the value unchanged when it is
acceptable and raises `ValueError` with a message fit to show an operator otherwise.

Everything is allow-listed with ASCII-only patterns (`re.ASCII`, full matches: `$` would also match
before a trailing newline). Nothing carrying `$ ; { } ' " \\ #`, whitespace, control characters or
non-ASCII look-alikes (U+037E GREEK QUESTION MARK, fullwidth semicolon, ...) passes any of them:
quoting protects nginx's syntax, but nginx still expands `$variables` inside quoted strings, so
user strings must never contain `$` at all.
"""

from __future__ import annotations

import ipaddress
import re
import warnings
from collections.abc import Iterable

# (minimum, maximum) for every integer field, so forms and serializers can show the same bounds.
BOUNDS: dict[str, tuple[int, int]] = {
    "port": (1, 65535),
    "weight": (1, 1000),
    "max_fails": (0, 1000),
    "fail_timeout_s": (1, 3600),
    "max_conns": (0, 100_000),
    "keepalive": (0, 1024),
    "connect_timeout_ms": (1, 60_000),  # nginx caps connect timeouts at ~75 s on most systems
    "read_timeout_s": (1, 3600),
    "send_timeout_s": (1, 3600),
    "retry_tries": (1, 10),
    "retry_timeout_s": (1, 300),
    "route_priority": (0, 100_000),
    "revision": (0, 2**53),
}

# Algorithms whose nginx balancer rejects the `backup` server flag.
NO_BACKUP_ALGORITHMS = frozenset({"ip_hash", "hash", "random_two_least_conn"})

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}", re.ASCII)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.ASCII)
_IPV4_CHARS_RE = re.compile(r"[0-9.]{7,15}", re.ASCII)
_IPV6_CHARS_RE = re.compile(r"[0-9A-Fa-f:.]{2,45}", re.ASCII)
# RFC 7230 tchar, minus the characters that mean something to nginx or a shell: $ ' # ` |.
_TOKEN_RE = re.compile(r"[A-Za-z0-9!%&*+.^_~-]{1,64}", re.ASCII)
# nginx variable names are [A-Za-z0-9_]: these are the names usable after $http_ / $cookie_.
_HASH_HEADER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", re.ASCII)
_HASH_COOKIE_RE = re.compile(r"[A-Za-z0-9_]{1,64}", re.ASCII)
_PATH_PREFIX_RE = re.compile(r"/[A-Za-z0-9._~/-]{0,255}", re.ASCII)
_KEY_RE = re.compile(r"[A-Za-z0-9._:\[\]-]{1,64}", re.ASCII)


def _show(value: object) -> str:
    """A safe, short rendering of a rejected value: ascii() escapes controls and look-alikes."""
    text = ascii(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(value: object, what: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > max_len:
        raise ValueError(f"{what} must be at most {max_len} characters")
    if not value.isascii():
        raise ValueError(f"{what} {_show(value)} must contain only ASCII characters")
    return value


def validate_name(value: object, what: str = "name") -> str:
    """Object names (upstreams, virtual servers): they become nginx identifiers and file names."""
    text = _text(value, what, 63)
    if not _NAME_RE.fullmatch(text):
        raise ValueError(
            f"{what} {_show(text)} may contain only lowercase letters, digits, '-' and '_', "
            "and must start with a letter or digit"
        )
    return text


def validate_key(value: object, what: str = "key") -> str:
    """Stable member identities (database keys as text): never rendered, but kept printable."""
    text = _text(value, what, 64)
    if not _KEY_RE.fullmatch(text):
        raise ValueError(f"{what} {_show(text)} may contain only letters, digits and . _ : - [ ]")
    return text


def validate_hostname(value: object, what: str = "hostname") -> str:
    """An RFC 1123 host name (ASCII labels of 1-63 characters, at most 253 in all)."""
    text = _text(value, what, 253)
    if not _HOSTNAME_RE.fullmatch(text):
        raise ValueError(
            f"{what} {_show(text)} must be dot-separated labels of letters, digits and '-' "
            "(no leading or trailing '-')"
        )
    if text.rsplit(".", 1)[-1].isdigit():
        # "1.2.3" is not an IP literal to us, but the resolver would read it as one.
        raise ValueError(f"{what} {_show(text)} looks like an incomplete IP address")
    return text


def validate_server_name(value: object) -> str:
    """A virtual-server host name: a host name, `*.` plus a host name, or an IPv4 literal."""
    text = _text(value, "hostname", 253)
    if _IPV4_CHARS_RE.fullmatch(text):
        return validate_ip(text, "hostname")
    validate_hostname(text[2:] if text.startswith("*.") else text, "hostname")
    return text


def validate_ip(value: object, what: str = "IP address") -> str:
    """An IPv4 or IPv6 literal, without zone index or brackets."""
    text = _text(value, what, 45)
    # ipaddress alone is not enough: it accepts IPv6 zone ids ("fe80::1%<anything>").
    if not (_IPV4_CHARS_RE.fullmatch(text) or _IPV6_CHARS_RE.fullmatch(text)):
        raise ValueError(f"{what} {_show(text)} is not an IPv4 or IPv6 address")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{what} {_show(text)} is not an IPv4 or IPv6 address") from None
    return text


def validate_address(value: object) -> str:
    """A backend address: an IP literal, or a host name that nginx resolves when it loads."""
    text = _text(value, "address", 253)
    if ":" in text or _IPV4_CHARS_RE.fullmatch(text):
        return validate_ip(text, "address")
    return validate_hostname(text, "address")


def normalize_address(address: str) -> str:
    """The canonical spelling of a valid address: IPv6 compressed, host names lowercase."""
    if ":" in address:
        return ipaddress.ip_address(address).compressed
    return address.lower()


def validate_int(value: object, what: str, low: int, high: int) -> int:
    """An integer within [low, high] (booleans are rejected although Python counts them as ints)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number")
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}")
    return value


def validate_bounded(value: object, field: str, what: str | None = None) -> int:
    """An integer within the `BOUNDS` entry for `field`."""
    low, high = BOUNDS[field]
    return validate_int(value, what or field, low, high)


def validate_port(value: object, what: str = "port") -> int:
    """A TCP port, 1-65535."""
    return validate_bounded(value, "port", what)


def validate_bool(value: object, what: str) -> bool:
    """A real boolean (not 0/1 or "yes")."""
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false")
    return value


def validate_choice(value: object, what: str, choices: Iterable[str]) -> str:
    """One of a fixed set of strings."""
    allowed = tuple(choices)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{what} {_show(value)} must be one of: {', '.join(allowed)}")
    return value


def validate_header_name(value: object) -> str:
    """An HTTP header name: an RFC 7230 token of at most 64 characters, without $ ' # ` |."""
    text = _text(value, "header name", 64)
    if not _TOKEN_RE.fullmatch(text):
        raise ValueError(f"header name {_show(text)} may contain only letters, digits and !%&*+.^_~-")
    return text


def validate_cookie_name(value: object) -> str:
    """A cookie name: an RFC 6265 token of at most 64 characters, without $ ' # ` |."""
    text = _text(value, "cookie name", 64)
    if not _TOKEN_RE.fullmatch(text):
        raise ValueError(f"cookie name {_show(text)} may contain only letters, digits and !%&*+.^_~-")
    return text


def validate_hash_key(key: object, key_name: object) -> tuple[str, str | None]:
    """The `hash` algorithm's key: which request attribute, and the header/cookie name if any.

    Header and cookie names end up in nginx variable names (`$http_x_user`, `$cookie_sid`), so
    they are restricted further than general tokens: headers to letters, digits and '-', cookies
    to letters, digits and '_'.
    """
    kind = validate_choice(key, "hash key", ("client_ip", "header", "cookie", "uri"))
    if kind in ("client_ip", "uri"):
        if key_name is not None:
            raise ValueError(f"hash key {kind} takes no header or cookie name")
        return kind, None
    if kind == "header":
        name = validate_header_name(key_name)
        if not _HASH_HEADER_RE.fullmatch(name):
            raise ValueError("a header used as hash key may contain only letters, digits and '-'")
        return kind, name
    name = validate_cookie_name(key_name)
    if not _HASH_COOKIE_RE.fullmatch(name):
        raise ValueError("a cookie used as hash key may contain only letters, digits and '_'")
    return kind, name


def validate_path_prefix(value: object) -> str:
    """A URL path prefix for routes: `/` followed by unreserved characters and `/`, at most 256."""
    text = _text(value, "path prefix", 256)
    if not _PATH_PREFIX_RE.fullmatch(text):
        raise ValueError(
            f"path prefix {_show(text)} must start with '/' and contain only letters, digits and ._~/-"
        )
    if "//" in text or any(s in (".", "..") for s in text.split("/")):
        raise ValueError(f"path prefix {_show(text)} must not contain empty, '.' or '..' segments")
    return text


def validate_backup_allowed(algorithm: str, backup: bool) -> bool:
    """nginx's ip_hash, hash and random balancers refuse `backup` members."""
    if backup and algorithm in NO_BACKUP_ALGORITHMS:
        raise ValueError(
            f"backup servers are not supported with the {algorithm} algorithm; "
            "use round_robin or least_conn, or make the server a normal member"
        )
    return backup


# --- Gateway values: routes, header edits, redirects, fixed responses, sticky cookies, limits -------------

GATEWAY_BOUNDS: dict[str, tuple[int, int]] = {
    "canary_weight": (0, 100),
    "cookie_ttl_s": (0, 31_536_000),
    "rate": (1, 100_000),
    "burst": (0, 100_000),
    "delay": (0, 100_000),
    "connections": (0, 100_000),
    "retry_after_s": (1, 86_400),
    "respond_status": (200, 599),
    "limit_status": (400, 599),
}
BOUNDS.update(GATEWAY_BOUNDS)

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
REDIRECT_STATUSES = (301, 302, 307, 308)
REGEX_MAX = 256
HEADER_VALUE_MAX = 256
BODY_MAX = 1024
URL_MAX = 2048

# Characters a route regex may use: enough for real path/header patterns, nothing nginx or a shell reads
# specially ($ { } quotes whitespace ; #). Escapes are limited separately (_REGEX_ESCAPES).
_REGEX_CHARS_RE = re.compile(r"[A-Za-z0-9._~/^*+?()|\[\]\\:,=!<>@%&-]{1,256}", re.ASCII)
# After a backslash: classes and anchors that Python's re and PCRE read the same way, or punctuation.
_REGEX_ESCAPES = frozenset("dDwWsSbBAZ" + r"._~/^*+?()|[]\:,=!<>@%&-")
# The only `(?` constructs allowed: groups and look-arounds both engines share, and case-insensitivity.
_REGEX_GROUPS = ("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?i)")
# Header values: printable ASCII without $ " ' \ ; { } # (space allowed inside, not at the ends).
_HEADER_CHAR = r"!%&()*+,./0-9:<=>?@A-Z\[\]^_`a-z|~-"
_HEADER_VALUE_RE = re.compile(rf"[{_HEADER_CHAR}](?:[ {_HEADER_CHAR}]{{0,254}}[{_HEADER_CHAR}])?", re.ASCII)
# Cookie and query values compared for equality: RFC 6265 cookie-octets / raw query characters, no $ ' ".
_MATCH_VALUE_RE = re.compile(r"[A-Za-z0-9!%&()*+,./:<=>?@\[\]^_`|~-]{1,256}", re.ASCII)
# Header, cookie and query parameter names the gateway reads: letters, digits, '-' and '_'.
_FIELD_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
_URL_RE = re.compile(
    r"(?:https?://[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?)?/[A-Za-z0-9._~/?&=%+:@,!*()-]{0,2000}", re.ASCII
)
_BODY_RE = re.compile(r"[A-Za-z0-9 .,:!?()/@+=%*_-]{0,1024}", re.ASCII)
_SAMESITE = ("Lax", "Strict", "None")


def validate_route_regex(value: object, what: str = "regular expression") -> str:
    """A route regex that Python's `re` and nginx's PCRE both compile and read the same way.

    Allow-listed characters only (no `$`: end a pattern with `\\Z`; no braces: no `{n,m}`), a short list
    of escapes and `(?` constructs, at most 256 characters, and it must compile without warnings.
    """
    text = _text(value, what, REGEX_MAX)
    if not _REGEX_CHARS_RE.fullmatch(text):
        raise ValueError(
            f"{what} {_show(text)} may contain only letters, digits and ._~/^*+?()|[]\\:,=!<>@%&- "
            "(no $, braces, quotes, whitespace, ';' or '#'; use \\Z to anchor the end)"
        )
    for index, char in enumerate(text):
        if char == "\\" and (index + 1 == len(text) or text[index + 1] not in _REGEX_ESCAPES):
            raise ValueError(
                f"{what}: only \\d \\w \\s \\b \\A \\Z (and their capitals) or an escaped "
                "punctuation character may follow a backslash"
            )
    for start in (i for i in range(len(text)) if text.startswith("(?", i) and not _escaped(text, i)):
        if not any(text.startswith(group, start) for group in _REGEX_GROUPS):
            raise ValueError(f"{what}: only (?: (?= (?! (?<= (?<! and (?i) groups are allowed")
    if "[[" in text or "[:" in text or "--" in text or "&&" in text or "||" in text:
        raise ValueError(f"{what}: nested or POSIX character classes and doubled operators are not allowed")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            re.compile(text, re.ASCII)
    except (re.error, FutureWarning, DeprecationWarning) as exc:
        raise ValueError(f"{what} does not compile: {exc}") from None
    return text


def _escaped(text: str, index: int) -> bool:
    backslashes = len(text[:index]) - len(text[:index].rstrip("\\"))
    return backslashes % 2 == 1


def validate_field_name(value: object, what: str = "name") -> str:
    """A header, cookie or query parameter name read by the gateway: letters, digits, '-' and '_'."""
    text = _text(value, what, 64)
    if not _FIELD_NAME_RE.fullmatch(text):
        raise ValueError(f"{what} {_show(text)} may contain only letters, digits, '-' and '_'")
    return text


def validate_header_value(value: object, what: str = "header value") -> str:
    """A header value set by the gateway: printable ASCII without $ \" ' \\ ; { } #, at most 256."""
    text = _text(value, what, HEADER_VALUE_MAX)
    if not _HEADER_VALUE_RE.fullmatch(text):
        raise ValueError(
            f"{what} {_show(text)} must be printable ASCII without $ \" ' \\ ; {{ }} # "
            "(and without leading or trailing spaces)"
        )
    return text


def validate_match_value(value: object, what: str = "value") -> str:
    """A header, cookie or query value compared for equality: no whitespace, quotes, $ ; { } # or \\."""
    text = _text(value, what, 256)
    if not _MATCH_VALUE_RE.fullmatch(text):
        raise ValueError(
            f"{what} {_show(text)} may contain only letters, digits and !%&()*+,./:<=>?@[]^_`|~-"
        )
    return text


def validate_redirect_url(value: object, what: str = "redirect URL") -> str:
    """An absolute http(s) URL or an absolute path, of unreserved and reserved URL characters only."""
    text = _text(value, what, URL_MAX)
    if not _URL_RE.fullmatch(text) or "//" in text.split("://", 1)[-1]:
        raise ValueError(
            f"{what} {_show(text)} must be http(s)://host[:port]/path or /path, using only letters, digits "
            "and ._~/?&=%+:@,!*()-"
        )
    return text


def validate_body_text(value: object, what: str = "body") -> str:
    """A short fixed response body: letters, digits, spaces and .,:!?()/@+=%*_- (at most 1024)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    if len(value) > BODY_MAX:
        raise ValueError(f"{what} must be at most {BODY_MAX} characters")
    if not _BODY_RE.fullmatch(value):
        raise ValueError(
            f"{what} {_show(value)} may contain only letters, digits, spaces and .,:!?()/@+=%*_-"
        )
    return value


def validate_status(value: object, what: str = "status", low: int = 200, high: int = 599) -> int:
    """An HTTP status code in [low, high]."""
    return validate_int(value, what, low, high)


def validate_same_site(value: object) -> str:
    return validate_choice(value, "SameSite", _SAMESITE)


def validate_cidr(value: object, what: str = "CIDR") -> str:
    """An IPv4 or IPv6 network in CIDR notation (host bits must be zero), or a single address."""
    text = _text(value, what, 49)
    address, _, bits = text.partition("/")
    validate_ip(address, what)
    if bits and not (bits.isdigit() and len(bits) <= 3):
        raise ValueError(f"{what} {_show(text)} must be an address or address/prefix-length")
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"{what} {_show(text)}: {exc}") from None
    return text


def validate_redirect_status(value: object) -> int:
    """301, 302, 307 or 308."""
    if isinstance(value, bool) or value not in REDIRECT_STATUSES:
        raise ValueError(f"redirect status {_show(value)} must be one of: 301, 302, 307, 308")
    return int(value)
