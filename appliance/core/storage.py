"""Object storage (any S3 server) through the MinIO SDK: one client, named buckets, clear errors.

Callers use bucket *roles* (`certificates`, `archives`, `reports`, `receipts`); the bucket names behind them
are settings. Every failure is raised as `StorageError` naming the operation, so workers can retry and the
UI can say what is wrong without leaking credentials. A missing object is `ObjectNotFound` (a
`StorageError` that retrying does not fix).

`settings.LB_S3` configures the endpoint (`host:port`), credentials, region and TLS: `secure` turns HTTPS
on, `ca_file` names a CA bundle to verify the server with (a private CA), `cert_check=False` skips
verification (test set-ups only). `ObjectStore(config)` builds a client for any other configuration.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import urllib3
from django.conf import settings
from minio import Minio
from minio.error import MinioException, S3Error

BUCKET_ROLES = ("certificates", "archives", "reports", "receipts")
_MISSING = {"NoSuchKey", "NoSuchObject"}
_ERRORS = (MinioException, urllib3.exceptions.HTTPError, ValueError)


class StorageError(RuntimeError):
    """Object storage could not do what was asked; the message names the operation and bucket/key."""


class ObjectNotFound(StorageError):
    """The object does not exist (the storage itself answered)."""


def _http_client(config: Mapping[str, Any]) -> urllib3.PoolManager:
    # Short timeouts and no retries inside the SDK: callers (Celery tasks) own the retry policy, and an
    # outage must turn into a quick, clear error rather than a hung request.
    options: dict[str, Any] = {
        "timeout": urllib3.Timeout(connect=2, read=10),
        "retries": False,
        "maxsize": 10,
    }
    if config.get("secure"):
        if not config.get("cert_check", True):
            options["cert_reqs"] = "CERT_NONE"
        else:
            options["cert_reqs"] = "CERT_REQUIRED"
            if config.get("ca_file"):
                options["ca_certs"] = config["ca_file"]
    return urllib3.PoolManager(**options)


class ObjectStore:
    """One S3 endpoint and the appliance's buckets on it."""

    def __init__(self, config: Mapping[str, Any], buckets: Mapping[str, str] | None = None) -> None:
        self.buckets = dict(buckets if buckets is not None else settings.LB_BUCKETS)
        self.client = Minio(
            config["endpoint"],
            access_key=config["access_key"],
            secret_key=config["secret_key"],
            secure=bool(config.get("secure")),
            region=config.get("region") or None,
            http_client=_http_client(config),
        )

    def bucket(self, role: str) -> str:
        return str(self.buckets[role])

    def ensure_buckets(self) -> list[str]:
        """Create every bucket the appliance uses; idempotent. Returns the names that were created."""
        created = []
        for role in BUCKET_ROLES:
            name = self.bucket(role)
            try:
                if not self.client.bucket_exists(name):
                    self.client.make_bucket(name)
                    created.append(name)
            except _ERRORS as exc:
                raise StorageError(f"cannot create bucket {name!r}: {exc}") from exc
        return created

    def put_bytes(
        self, role: str, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        try:
            self.client.put_object(
                self.bucket(role), key, io.BytesIO(data), len(data), content_type=content_type
            )
        except _ERRORS as exc:
            raise StorageError(f"cannot store {self.bucket(role)}/{key}: {exc}") from exc

    def get_bytes(self, role: str, key: str) -> bytes:
        try:
            response = self.client.get_object(self.bucket(role), key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()
        except S3Error as exc:
            if exc.code in _MISSING:
                raise ObjectNotFound(f"{self.bucket(role)}/{key} does not exist") from exc
            raise StorageError(f"cannot read {self.bucket(role)}/{key}: {exc}") from exc
        except _ERRORS as exc:
            raise StorageError(f"cannot read {self.bucket(role)}/{key}: {exc}") from exc

    def exists(self, role: str, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket(role), key)
        except S3Error as exc:
            if (
                exc.code in _MISSING
                or exc.code == "NoSuchResource"
                or getattr(exc.response, "status", 0) == 404
            ):
                return False
            raise StorageError(f"cannot look up {self.bucket(role)}/{key}: {exc}") from exc
        except _ERRORS as exc:
            raise StorageError(f"cannot look up {self.bucket(role)}/{key}: {exc}") from exc
        return True

    def keys(self, role: str, prefix: str) -> Iterator[str]:
        """Every object name under `prefix` (recursively)."""
        try:
            for item in self.client.list_objects(self.bucket(role), prefix=prefix, recursive=True):
                yield str(item.object_name)
        except _ERRORS as exc:
            raise StorageError(f"cannot list {self.bucket(role)}/{prefix}: {exc}") from exc

    def ping(self) -> None:
        """Cheapest real S3 round trip: does the archives bucket exist?"""
        try:
            if not self.client.bucket_exists(self.bucket("archives")):
                raise StorageError(f"bucket {self.bucket('archives')!r} is missing")
        except _ERRORS as exc:
            raise StorageError(f"object storage unreachable: {exc}") from exc


@lru_cache(maxsize=1)
def default() -> ObjectStore:
    """The appliance's object storage (`settings.LB_S3`)."""
    return ObjectStore(settings.LB_S3)


def client() -> Minio:
    return default().client


def bucket(role: str) -> str:
    return default().bucket(role)


def ensure_buckets() -> list[str]:
    return default().ensure_buckets()


def put_bytes(role: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    default().put_bytes(role, key, data, content_type)


def get_bytes(role: str, key: str) -> bytes:
    return default().get_bytes(role, key)


def exists(role: str, key: str) -> bool:
    return default().exists(role, key)


def ping() -> None:
    default().ping()
