"""Allowed values of every enumerated field; the compiler maps each to nginx directives."""

from django.db import models


class Algorithm(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Weighted round robin"
    LEAST_CONN = "least_conn", "Least connections"
    IP_HASH = "ip_hash", "Client IP hash"
    HASH = "hash", "Hash of a key"
    RANDOM_TWO_LEAST_CONN = "random_two_least_conn", "Random of two, least connections"


class HashKey(models.TextChoices):
    CLIENT_IP = "client_ip", "Client IP"
    HEADER = "header", "Request header"
    COOKIE = "cookie", "Cookie"
    URI = "uri", "Request URI"


class RetryCondition(models.TextChoices):
    ERROR = "error"
    TIMEOUT = "timeout"
    INVALID_HEADER = "invalid_header"
    HTTP_500 = "http_500"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    HTTP_504 = "http_504"
    HTTP_403 = "http_403"
    HTTP_404 = "http_404"
    HTTP_429 = "http_429"


class ServerState(models.TextChoices):
    ENABLED = "enabled", "Enabled"
    DRAIN = "drain", "Draining"
    DISABLED = "disabled", "Disabled"


class RevisionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"


class PathKind(models.TextChoices):
    PREFIX = "prefix", "Prefix (whole segments)"
    EXACT = "exact", "Exact path"
    REGEX = "regex", "Regular expression"


class ValueMatchOp(models.TextChoices):
    EQUALS = "equals", "Equals"
    PRESENT = "present", "Present (not empty)"
    REGEX = "regex", "Matches regular expression"


class RouteAction(models.TextChoices):
    FORWARD = "forward", "Forward to an upstream"
    REDIRECT = "redirect", "Redirect"
    RESPOND = "respond", "Fixed response"


class HttpMethod(models.TextChoices):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    OPTIONS = "OPTIONS"


class RedirectStatus(models.IntegerChoices):
    MOVED_PERMANENTLY = 301
    FOUND = 302
    TEMPORARY_REDIRECT = 307
    PERMANENT_REDIRECT = 308


class StickyKind(models.TextChoices):
    COOKIE = "cookie", "Cookie issued by the load balancer"
    CLIENT_IP = "client_ip", "Client IP (consistent hash)"
    HEADER = "header", "Request header (consistent hash)"


class SameSite(models.TextChoices):
    LAX = "Lax"
    STRICT = "Strict"
    NONE = "None"


class LimitKey(models.TextChoices):
    CLIENT_IP = "client_ip", "Client IP"
    HEADER = "header", "Request header (e.g. an API key)"
    ROUTE = "route", "Route (all clients together)"


class RateUnit(models.TextChoices):
    SECOND = "s", "per second"
    MINUTE = "m", "per minute"
