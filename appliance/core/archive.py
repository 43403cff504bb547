"""Revision archives in object storage: every applied revision, restorable without the database's copy.

    revisions/<number>.tar.gz   the compiled files (no node files, no keys), deterministic gzip'd tar
    revisions/<number>.json     manifest: number, checksum, listen ports, cause, author, the tarball's
                                SHA-256 and size, and each file's SHA-256

The manifest is written last, so its presence means the archive is complete. Restoring checks the
tarball against the manifest and the files against the revision checksum before anything is used.
Archiving runs in a worker after a node applied the revision (`workers.archive`), never in the apply
path; an outage only delays it (the task retries, a periodic sweep catches up).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import tarfile
from dataclasses import dataclass
from typing import Any

from appliance.core.storage import ObjectNotFound, ObjectStore, default
from appliance.lb.choices import RevisionStatus
from appliance.lb.models import ConfigRevision
from nginx.compiler import checksum_files
from nginx.staging import check_relative_path

log = logging.getLogger(__name__)
ROLE = "archives"
FORMAT = 1
MAX_FILES = 10_000
MAX_BYTES = 64 * 1024 * 1024


class ArchiveError(ValueError):
    """An archive is missing or does not check out; it is never used then."""


@dataclass(frozen=True)
class ArchivedRevision:
    number: int
    checksum: str
    listen_ports: list[int]
    files: dict[str, str]
    manifest: dict[str, Any]


def tarball_key(number: int) -> str:
    return f"revisions/{number:012d}.tar.gz"


def manifest_key(number: int) -> str:
    return f"revisions/{number:012d}.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_tarball(files: dict[str, str], mtime: int) -> bytes:
    """Same files → same bytes: sorted members, fixed owner and mode, gzip without a timestamp."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            data = files[path].encode()
            member = tarfile.TarInfo(path)
            member.size, member.mtime, member.mode = len(data), mtime, 0o644
            tar.addfile(member, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def archive_revision(revision: ConfigRevision, store: ObjectStore | None = None) -> bool:
    """Archive one revision; False if it was already archived. Raises StorageError on an outage."""
    store = store or default()
    if store.exists(ROLE, manifest_key(revision.number)):
        return False
    if not revision.files:
        raise ArchiveError(f"revision {revision.number} has no files to archive")
    tarball = build_tarball(revision.files, int(revision.created.timestamp()))
    manifest = {
        "format": FORMAT,
        "revision": revision.number,
        "checksum": revision.checksum,
        "listen_ports": list(revision.listen_ports),
        "created": revision.created.isoformat(),
        "cause": revision.cause,
        "author": revision.author,
        "archive": {"key": tarball_key(revision.number), "sha256": _sha256(tarball), "size": len(tarball)},
        "files": {path: _sha256(text.encode()) for path, text in sorted(revision.files.items())},
    }
    store.put_bytes(ROLE, tarball_key(revision.number), tarball, "application/gzip")
    store.put_bytes(
        ROLE, manifest_key(revision.number), json.dumps(manifest, indent=2).encode(), "application/json"
    )
    log.info("archived revision %s (%d files)", revision.number, len(revision.files))
    return True


def load(number: int, store: ObjectStore | None = None) -> ArchivedRevision:
    """An archived revision, verified end to end. Raises ArchiveError, or StorageError on an outage."""
    store = store or default()
    try:
        manifest = json.loads(store.get_bytes(ROLE, manifest_key(number)))
        tarball = store.get_bytes(ROLE, tarball_key(number))
    except ObjectNotFound as exc:
        raise ArchiveError(f"revision {number} is not archived") from exc
    except ValueError as exc:
        raise ArchiveError(f"the manifest of revision {number} is unreadable") from exc
    if manifest.get("format") != FORMAT or manifest.get("revision") != number:
        raise ArchiveError(f"the manifest of revision {number} is not a revision {number} manifest")
    if _sha256(tarball) != manifest["archive"]["sha256"]:
        raise ArchiveError(f"the archive of revision {number} does not match its manifest")
    files = _extract(tarball)
    expected = manifest["files"]
    if sorted(files) != sorted(expected) or any(_sha256(t.encode()) != expected[p] for p, t in files.items()):
        raise ArchiveError(f"the files of revision {number} do not match its manifest")
    if checksum_files(files) != manifest["checksum"]:
        raise ArchiveError(f"the files of revision {number} do not match its checksum")
    return ArchivedRevision(number, manifest["checksum"], list(manifest["listen_ports"]), files, manifest)


def _extract(tarball: bytes) -> dict[str, str]:
    """Regular files only, each path checked like a staged file (no links, no escapes), bounded size."""
    files: dict[str, str] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
            for member in tar:
                if not member.isfile() or len(files) >= MAX_FILES:
                    raise ArchiveError(f"unexpected archive member {member.name!r}")
                check_relative_path(member.name)
                total += member.size
                handle = tar.extractfile(member)
                if total > MAX_BYTES or handle is None:
                    raise ArchiveError("archive too large")
                files[member.name] = handle.read().decode("utf-8")
    except (tarfile.TarError, OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"unreadable archive: {exc}") from exc
    return files


def files_of(revision: ConfigRevision, store: ObjectStore | None = None) -> dict[str, str]:
    """A revision's files: from its row, or, when they were pruned, from the archive.

    A rollback revision carries its target's files, so its target's archive serves too. Whatever is
    found must carry the revision's checksum.
    """
    if revision.files:
        return dict(revision.files)
    numbers = [revision.number]
    if revision.rollback_of_id is not None:
        numbers.append(
            ConfigRevision.objects.values_list("number", flat=True).get(pk=revision.rollback_of_id)
        )
    for number in numbers:
        try:
            archived = load(number, store)
        except ArchiveError:
            continue
        if archived.checksum == revision.checksum:
            return archived.files
    raise ArchiveError(f"revision {revision.number} has no files in the database and no usable archive")


def archive_missing(limit: int = 50, store: ObjectStore | None = None) -> list[int]:
    """Archive the applied revisions among the newest `limit` that are not archived yet."""
    store = store or default()
    done = []
    recent = ConfigRevision.objects.filter(status=RevisionStatus.APPLIED).exclude(files={})
    for revision in recent.order_by("-number")[:limit]:
        if archive_revision(revision, store):
            done.append(revision.number)
    return done


def schedule(revision_id: int) -> None:
    """Enqueue archiving; a broker hiccup here must never fail the apply that triggered it."""
    from workers.archive import archive_revision as task

    try:
        task.delay(revision_id)
    except Exception:
        log.warning("could not enqueue archiving of revision id %s; the periodic sweep will", revision_id)
