"""Receipt storage: one bucket on any S3 server, reached through the MinIO SDK.

Every failure is raised as `StorageError` naming the operation, so the API can answer 503 with a clear
message and never leak credentials. The SDK's own retries are off and its timeouts short: an outage must
become a quick, clear error instead of a request stuck for the whole worker timeout.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import urllib3
from django.conf import settings
from minio import Minio
from minio.error import MinioException, S3Error

_BUCKET_RACE_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_CHUNK = 64 * 1024


class StorageError(RuntimeError):
    """Object storage could not do what was asked; the message names the operation and the object."""


class ReceiptMissing(StorageError):
    """The storage answered, but the receipt object is not there."""


@dataclass(frozen=True)
class ReceiptStream:
    """An open receipt download: its size and an iterator that releases the connection when done."""

    length: int | None
    chunks: Iterator[bytes]


_FAILURES = (MinioException, urllib3.exceptions.HTTPError, OSError)


@lru_cache(maxsize=1)
def client() -> Minio:
    cfg = settings.PAYMENT_S3
    timeout = urllib3.Timeout(connect=cfg["connect_timeout"], read=cfg["read_timeout"])
    http = urllib3.PoolManager(timeout=timeout, retries=False, maxsize=4)
    return Minio(
        cfg["endpoint"],
        access_key=cfg["access_key"],
        secret_key=cfg["secret_key"],
        secure=cfg["secure"],
        region=cfg["region"],
        http_client=http,
    )


def bucket() -> str:
    return str(settings.PAYMENT_S3["bucket"])


_bucket_ready = False


def ensure_bucket(recheck: bool = False) -> None:
    """Create the receipts bucket if it is missing (the appliance normally has created it).

    Checked once per process; readiness probes pass `recheck` so that a bucket deleted at run time is
    recreated within one probe interval.
    """
    global _bucket_ready
    if _bucket_ready and not recheck:
        return
    try:
        if not client().bucket_exists(bucket()):
            client().make_bucket(bucket())
    except S3Error as exc:
        # Two workers may create it at the same moment; losing that race is success.
        if exc.code not in _BUCKET_RACE_CODES:
            raise StorageError(f"cannot create bucket {bucket()!r}: {exc}") from exc
    except _FAILURES as exc:
        raise StorageError(f"cannot create bucket {bucket()!r}: {exc}") from exc
    _bucket_ready = True


def put_receipt(key: str, body: bytes) -> None:
    ensure_bucket()
    try:
        client().put_object(bucket(), key, io.BytesIO(body), len(body), content_type="application/json")
    except _FAILURES as exc:
        raise StorageError(f"cannot store receipt {bucket()}/{key}: {exc}") from exc


def delete_receipt(key: str) -> None:
    try:
        client().remove_object(bucket(), key)
    except _FAILURES as exc:
        raise StorageError(f"cannot delete receipt {bucket()}/{key}: {exc}") from exc


def open_receipt(key: str) -> ReceiptStream:
    try:
        response = client().get_object(bucket(), key)
    except S3Error as exc:
        if exc.code == "NoSuchKey":
            raise ReceiptMissing(f"receipt {bucket()}/{key} does not exist") from exc
        raise StorageError(f"cannot read receipt {bucket()}/{key}: {exc}") from exc
    except _FAILURES as exc:
        raise StorageError(f"cannot read receipt {bucket()}/{key}: {exc}") from exc
    length = response.headers.get("Content-Length")
    return ReceiptStream(int(length) if length and length.isdigit() else None, _stream(response))


def _stream(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    # A generator, so Django's close() of the streaming response runs the finally and frees the connection
    # even when the client goes away mid-download.
    try:
        yield from response.stream(_CHUNK)
    finally:
        response.close()
        response.release_conn()


def ping() -> None:
    """Cheapest real S3 round trip that also proves our bucket is usable."""
    try:
        ensure_bucket(recheck=True)
    except StorageError as exc:
        raise StorageError(f"object storage unreachable at {settings.PAYMENT_S3['endpoint']}: {exc}") from exc
