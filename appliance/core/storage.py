"""Object storage (any S3 server) through the MinIO SDK: one client, named buckets, clear errors.

Callers use bucket *roles* (`certificates`, `archives`, `reports`, `receipts`); the bucket names behind them
are settings. Every failure is raised as `StorageError` naming the operation, so workers can retry and the
UI can say what is wrong without leaking credentials.
"""

from __future__ import annotations

import io
from functools import lru_cache

import urllib3
from django.conf import settings
from minio import Minio
from minio.error import MinioException

BUCKET_ROLES = ("certificates", "archives", "reports", "receipts")


class StorageError(RuntimeError):
    """Object storage could not do what was asked; the message names the operation and bucket/key."""


@lru_cache(maxsize=1)
def client() -> Minio:
    cfg = settings.LB_S3
    # Short timeouts and no retries inside the SDK: callers (Celery tasks) own the retry policy, and an
    # outage must turn into a quick, clear error rather than a hung request.
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=10), retries=False, maxsize=10)
    return Minio(
        cfg["endpoint"],
        access_key=cfg["access_key"],
        secret_key=cfg["secret_key"],
        secure=cfg["secure"],
        region=cfg["region"],
        http_client=http,
    )


def bucket(role: str) -> str:
    return str(settings.LB_BUCKETS[role])


def ensure_buckets() -> list[str]:
    """Create every bucket the appliance uses; idempotent. Returns the names that were created."""
    created = []
    for role in BUCKET_ROLES:
        name = bucket(role)
        try:
            if not client().bucket_exists(name):
                client().make_bucket(name)
                created.append(name)
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"cannot create bucket {name!r}: {exc}") from exc
    return created


def put_bytes(role: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    try:
        client().put_object(bucket(role), key, io.BytesIO(data), len(data), content_type=content_type)
    except (MinioException, urllib3.exceptions.HTTPError) as exc:
        raise StorageError(f"cannot store {bucket(role)}/{key}: {exc}") from exc


def get_bytes(role: str, key: str) -> bytes:
    try:
        response = client().get_object(bucket(role), key)
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()
    except (MinioException, urllib3.exceptions.HTTPError) as exc:
        raise StorageError(f"cannot read {bucket(role)}/{key}: {exc}") from exc


def ping() -> None:
    """Cheapest real S3 round trip: does the archives bucket exist?"""
    try:
        if not client().bucket_exists(bucket("archives")):
            raise StorageError(f"bucket {bucket('archives')!r} is missing")
    except (MinioException, urllib3.exceptions.HTTPError) as exc:
        raise StorageError(f"object storage unreachable: {exc}") from exc
