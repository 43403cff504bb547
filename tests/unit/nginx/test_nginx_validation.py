"""Allow-list validators: good values pass unchanged, everything else raises ValueError."""

import pytest
from nginx_hostile import hostile_variants

from nginx import validation as v

TEXT_VALIDATORS = {
    "name": (v.validate_name, "web-pool_1"),
    "key": (v.validate_key, "42"),
    "hostname": (v.validate_hostname, "api.example.com"),
    "server_name": (v.validate_server_name, "*.example.com"),
    "ip": (v.validate_ip, "10.0.0.1"),
    "address": (v.validate_address, "backend.internal"),
    "header": (v.validate_header_name, "X-Request-Tenant"),
    "cookie": (v.validate_cookie_name, "session_id"),
    "path_prefix": (v.validate_path_prefix, "/api/v1/"),
}


@pytest.mark.parametrize("kind", sorted(TEXT_VALIDATORS))
def test_it_returns_a_valid_value_unchanged(kind):
    validator, good = TEXT_VALIDATORS[kind]
    assert validator(good) == good


@pytest.mark.parametrize("kind", sorted(TEXT_VALIDATORS))
def test_it_refuses_every_hostile_variant(kind):
    validator, good = TEXT_VALIDATORS[kind]
    passed = []
    for value in hostile_variants(good, tokens=kind in ("key", "header", "cookie")):
        try:
            validator(value)
        except ValueError:
            continue
        passed.append(value)
    assert passed == [], f"{kind} accepted {passed!r}"


@pytest.mark.parametrize("value", [None, 5, b"web", ["web"], True])
def test_it_refuses_non_text(value):
    with pytest.raises(ValueError, match="must be text"):
        v.validate_name(value)


@pytest.mark.parametrize("value", ["Web", "-web", "_web", "a" * 64, "web.pool"])
def test_names_are_lowercase_identifiers(value):
    with pytest.raises(ValueError):
        v.validate_name(value)


@pytest.mark.parametrize(
    "value", ["localhost", "a-b.example.com", "xn--bcher-kva.example", "EXAMPLE.com", "a" * 63 + ".com"]
)
def test_it_accepts_rfc1123_hostnames(value):
    assert v.validate_hostname(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "-a.com",
        "a-.com",
        "a..com",
        ".a.com",
        "a.com.",
        "a" * 64 + ".com",
        "1.2.3",
        "10.0.0",
        "b\u00fccher.de",
        ".".join(["a" * 63] * 4) + ".ab",
        "*.example.com",
        "a_b.com",
    ],
)
def test_it_refuses_malformed_hostnames(value):
    with pytest.raises(ValueError):
        v.validate_hostname(value)


def test_server_names_allow_a_leading_wildcard_and_ipv4_only():
    assert v.validate_server_name("*.example.com") == "*.example.com"
    assert v.validate_server_name("192.0.2.7") == "192.0.2.7"
    for bad in ["example.*", "*example.com", "*.*.example.com", ".example.com", "~^x$", "::1", "*"]:
        with pytest.raises(ValueError):
            v.validate_server_name(bad)


@pytest.mark.parametrize("value", ["127.0.0.1", "::1", "2001:db8::10", "::ffff:192.0.2.1"])
def test_it_accepts_ip_literals(value):
    assert v.validate_ip(value) == value


@pytest.mark.parametrize(
    "value", ["fe80::1%eth0", "fe80::1%;x", "[::1]", "01.2.3.4", "256.1.1.1", "1.2.3.4/32", "::g", "1.2.3.4 "]
)
def test_it_refuses_non_literals_and_zone_ids(value):
    with pytest.raises(ValueError):
        v.validate_ip(value)


def test_addresses_are_ip_literals_or_hostnames():
    assert v.validate_address("::1") == "::1"
    assert v.validate_address("10.1.2.3") == "10.1.2.3"
    assert v.validate_address("payments.svc") == "payments.svc"
    with pytest.raises(ValueError):
        v.validate_address("10.1.2.3:80")


@pytest.mark.parametrize("value", [0, 65536, -1, True, "80", 80.0])
def test_ports_are_integers_in_range(value):
    with pytest.raises(ValueError):
        v.validate_port(value)


def test_bounds_cover_every_integer_field():
    for field, (low, high) in v.BOUNDS.items():
        assert v.validate_bounded(low, field) == low
        assert v.validate_bounded(high, field) == high
        with pytest.raises(ValueError):
            v.validate_bounded(high + 1, field)
        with pytest.raises(ValueError):
            v.validate_bounded(low - 1, field)


def test_booleans_must_be_real_booleans():
    assert v.validate_bool(False, "backup") is False
    for bad in (0, 1, "true", None):
        with pytest.raises(ValueError):
            v.validate_bool(bad, "backup")


@pytest.mark.parametrize(
    ("key", "name", "expected"),
    [
        ("client_ip", None, ("client_ip", None)),
        ("uri", None, ("uri", None)),
        ("header", "X-User", ("header", "X-User")),
        ("cookie", "sid_2", ("cookie", "sid_2")),
    ],
)
def test_hash_keys(key, name, expected):
    assert v.validate_hash_key(key, name) == expected


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("client_ip", "x"),
        ("header", None),
        ("header", "X_User"),
        ("header", "X.User"),
        ("cookie", "my-sid"),
        ("cookie", None),
        ("cookie", "sid$"),
        ("body", None),
        (None, None),
        ("header", "X-User;"),
    ],
)
def test_hash_keys_must_fit_nginx_variable_names(key, name):
    with pytest.raises(ValueError):
        v.validate_hash_key(key, name)


@pytest.mark.parametrize("value", ["/", "/api", "/api/", "/a.b/c~d_e-f/"])
def test_it_accepts_path_prefixes(value):
    assert v.validate_path_prefix(value) == value


@pytest.mark.parametrize(
    "value", ["api", "/a//b", "/a/../b", "/..", "/./x", "/a?b", "/a%20b", "/" + "a" * 256]
)
def test_it_refuses_odd_path_prefixes(value):
    with pytest.raises(ValueError):
        v.validate_path_prefix(value)


@pytest.mark.parametrize("algorithm", ["ip_hash", "hash", "random_two_least_conn"])
def test_backup_is_refused_where_nginx_refuses_it(algorithm):
    with pytest.raises(ValueError, match="backup servers are not supported"):
        v.validate_backup_allowed(algorithm, True)
    assert v.validate_backup_allowed(algorithm, False) is False


@pytest.mark.parametrize("algorithm", ["round_robin", "least_conn"])
def test_backup_is_allowed_with_round_robin_and_least_conn(algorithm):
    assert v.validate_backup_allowed(algorithm, True) is True


def test_messages_show_look_alikes_escaped():
    with pytest.raises(ValueError) as caught:
        v.validate_name("web\u037e")
    assert "\\u037e" in str(caught.value)
    assert "\u037e" not in str(caught.value)
