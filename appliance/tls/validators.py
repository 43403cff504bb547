"""Django field validators of the TLS domain: allow-lists of `nginx.validation` and `appliance.tls.pem`."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from appliance.lb.validators import bounds, validate_name, validate_server_name
from appliance.tls import pem
from nginx import validation
from nginx.tls import HSTS_MAX_AGE_S

__all__ = [
    "bounds",
    "validate_ca_bundle",
    "validate_directory_url",
    "validate_dns_name",
    "validate_hostname",
    "validate_hsts_max_age",
    "validate_name",
    "validate_server_name",
]


def validate_hostname(value: object) -> None:
    try:
        validation.validate_hostname(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def validate_dns_name(value: object) -> None:
    """A certificate name: a host name or a `*.` wildcard of one."""
    text = value if isinstance(value, str) else ""
    validate_hostname(text[2:] if text.startswith("*.") else text)
    if "." not in text:
        raise ValidationError(f"{text!r} is not a fully qualified name")


def validate_ca_bundle(value: object) -> None:
    if not value:
        return
    try:
        pem.load_chain(str(value), "bundle")
    except pem.PemError as exc:
        raise ValidationError(str(exc)) from None


def validate_directory_url(value: object) -> None:
    """ACME directories are reached over HTTPS only; no credentials or fragments in the URL."""
    parts = urlsplit(str(value))
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password or parts.fragment:
        raise ValidationError("the ACME directory must be an https:// URL without credentials")


def validate_hsts_max_age(value: int) -> None:
    if not 0 <= value <= HSTS_MAX_AGE_S:
        raise ValidationError(f"HSTS max-age must be between 0 (off) and {HSTS_MAX_AGE_S} seconds")
