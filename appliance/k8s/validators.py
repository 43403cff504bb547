"""Field validators for Kubernetes names, as the API server itself defines them (field-level errors).

Names typed by an operator are sent to the Kubernetes API only (never to nginx); they are still held to
the API server's own syntax so that a typo is refused here, with a clear message, instead of a 404 later.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

_DNS_LABEL_RE = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)
_DNS_SUBDOMAIN_RE = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*", re.ASCII
)
_PORT_NAME_RE = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,13}[a-z0-9])?", re.ASCII)

# (minimum, maximum) of the integer fields of scaling policies and clusters.
BOUNDS: dict[str, tuple[int, int]] = {
    "replicas": (1, 1000),
    "window_s": (0, 3600),
    "max_step": (1, 1000),
    "interval_s": (1, 600),
    "metric_window_s": (1, 900),
    "unreachable_grace_s": (1, 3600),
}


def bounds(field: str) -> list:
    low, high = BOUNDS[field]
    return [MinValueValidator(low), MaxValueValidator(high)]


def validate_dns_label(value: str) -> None:
    """Namespace and Service names: RFC 1123 label, at most 63 characters."""
    if not isinstance(value, str) or not _DNS_LABEL_RE.fullmatch(value):
        raise ValidationError(
            "must be lower-case letters, digits and '-', start and end with a letter or digit, "
            "at most 63 characters"
        )


def validate_dns_subdomain(value: str) -> None:
    """Deployment names: RFC 1123 subdomain, at most 253 characters."""
    if not isinstance(value, str) or len(value) > 253 or not _DNS_SUBDOMAIN_RE.fullmatch(value):
        raise ValidationError(
            "must be lower-case letters, digits, '-' and '.', start and end with a letter or digit, "
            "at most 253 characters"
        )


def validate_port_name(value: str) -> None:
    """A Service port name (IANA service name syntax); empty selects the Service's unnamed port."""
    if value == "":
        return
    if (
        not isinstance(value, str)
        or not _PORT_NAME_RE.fullmatch(value)
        or "--" in value
        or not re.search(r"[a-z]", value)
    ):
        raise ValidationError(
            "must be at most 15 lower-case letters, digits and single '-', with at least one letter "
            "(or empty for the Service's unnamed port)"
        )
