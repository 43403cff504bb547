"""The node agent's side of TLS and archives: gather what a revision needs on this node, then apply it.

A revision's files come from its database row, or from its archive when the row was pruned. Its
certificates come from object storage: the chain, and the private key opened here, on the node, with the
master key; they are handed to the applier, which stages them root-only (0600) in the revision directory.

A storage outage raises `StorageError` before anything is staged: the node keeps serving what it serves,
nothing is recorded, and the next converge tries again. Material that is wrong (tampered, not matching,
missing) fails the revision on this node with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from appliance.core import archive
from appliance.core.storage import ObjectNotFound, ObjectStore
from appliance.lb.models import ConfigRevision
from appliance.tls import crypto, materials
from nginx.applier import ApplyResult, NodeApplier
from nginx.tls import manifest_entries


def secret_files(files: Mapping[str, str], store: ObjectStore | None = None) -> dict[str, bytes]:
    """Chain and key files for every certificate version the compiled files name."""
    out = {}
    for entry in manifest_entries(files):
        chain, key = materials.load_version(int(entry["certificate"]), str(entry["fingerprint"]), store)
        out[str(entry["chain"])] = chain
        out[str(entry["key"])] = key
    return out


def apply_revision(
    applier: NodeApplier, revision: ConfigRevision, store: ObjectStore | None = None
) -> ApplyResult:
    """Apply `revision` to this node; archives it once applied. Raises StorageError on an outage."""
    try:
        files = archive.files_of(revision, store)
        secrets = secret_files(files, store)
    except (archive.ArchiveError, materials.MaterialError, crypto.DecryptionError, ObjectNotFound) as exc:
        return ApplyResult(False, revision.number, False, f"cannot prepare revision {revision.number}: {exc}")
    result = applier.apply(revision.number, files, revision.checksum, secret_files=secrets)
    if result.ok:
        archive.schedule(revision.pk)
    return result
