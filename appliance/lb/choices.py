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
