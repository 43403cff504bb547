"""Allowed values of the enumerated fields of health checks and their results."""

from django.db import models


class CheckType(models.TextChoices):
    HTTP = "http", "HTTP"
    HTTPS = "https", "HTTPS"
    TCP = "tcp", "TCP connect"


class HttpMethod(models.TextChoices):
    GET = "GET"
    HEAD = "HEAD"


class BodyMatch(models.TextChoices):
    NONE = "", "No body check"
    SUBSTRING = "substring", "Body contains"
    REGEX = "regex", "Body matches regular expression"


class HealthStatus(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    HEALTHY = "healthy", "Healthy"
    UNHEALTHY = "unhealthy", "Unhealthy"


class Reason(models.TextChoices):
    """Why a check passed or failed; stored on the state and on every transition."""

    OK = "ok", "Check passed"
    HTTP_STATUS = "http_status", "Unexpected HTTP status"
    BODY_MISMATCH = "body_mismatch", "Body did not match"
    TIMEOUT = "timeout", "Timed out"
    CONNECTION_REFUSED = "connection_refused", "Connection refused"
    CONNECTION_ERROR = "connection_error", "Connection failed"
    TLS_ERROR = "tls_error", "TLS handshake failed"
    PROTOCOL_ERROR = "protocol_error", "Invalid HTTP response"
    CHECK_REMOVED = "check_removed", "Health check removed or disabled"


class AlertKind(models.TextChoices):
    FAIL_OPEN = "fail_open", "Every server unhealthy: failing open"
