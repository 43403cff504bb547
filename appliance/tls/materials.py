"""PEM material in object storage: where each piece lives, sealing keys, reading them back, rotation.

    certificates/<id>/<fingerprint>/chain.pem   the chain of one certificate version (public)
    certificates/<id>/<fingerprint>/key.enc     its private key, sealed (appliance.tls.crypto)
    certificates/<id>/orders/<order>/key.enc    the key of an ACME order until the certificate arrives
    acme/accounts/<id>/key.enc                  an ACME account key, sealed

Versions are never overwritten, so an older revision (a rollback, an archive) still finds its files.
Keys are sealed where they are made (web process or worker) and opened only where they are used (the
node agent, the ACME worker): they never travel through the Celery broker.
"""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from appliance.core.storage import ObjectStore, default
from appliance.tls import crypto

ROLE = "certificates"
_KEY_PATH_RE = re.compile(r"(certificates|acme/accounts)/([0-9]{1,18})/.+\.enc", re.ASCII)


class MaterialError(ValueError):
    """Stored material is inconsistent (wrong fingerprint, key not matching): refuse to serve it."""


def chain_key(certificate_id: int, fingerprint: str) -> str:
    return f"certificates/{certificate_id}/{fingerprint}/chain.pem"


def key_key(certificate_id: int, fingerprint: str) -> str:
    return f"certificates/{certificate_id}/{fingerprint}/key.enc"


def order_key_key(certificate_id: int, order_id: int) -> str:
    return f"certificates/{certificate_id}/orders/{order_id}/key.enc"


def account_key_key(account_id: int) -> str:
    return f"acme/accounts/{account_id}/key.enc"


def context_of(object_key: str) -> str:
    """The owner an envelope is bound to (its AAD), from where it is stored."""
    match = _KEY_PATH_RE.fullmatch(object_key)
    if not match:
        raise MaterialError(f"{object_key} is not a sealed key")
    kind = "certificate" if match.group(1) == "certificates" else "acme-account"
    return f"{kind}:{match.group(2)}"


def store_sealed(object_key: str, plaintext: bytes, store: ObjectStore | None = None) -> None:
    (store or default()).put_bytes(ROLE, object_key, crypto.encrypt(plaintext, context_of(object_key)))


def load_sealed(object_key: str, store: ObjectStore | None = None) -> bytes:
    return crypto.decrypt((store or default()).get_bytes(ROLE, object_key), context_of(object_key))


def store_version(
    certificate_id: int, fingerprint: str, chain_pem: str, key_pem: bytes, store: ObjectStore | None = None
) -> None:
    store = store or default()
    store_sealed(key_key(certificate_id, fingerprint), key_pem, store)
    store.put_bytes(
        ROLE, chain_key(certificate_id, fingerprint), chain_pem.encode(), "application/x-pem-file"
    )


def load_version(
    certificate_id: int, fingerprint: str, store: ObjectStore | None = None
) -> tuple[bytes, bytes]:
    """(chain PEM, private key PEM) of one version, checked to be that version and to belong together."""
    store = store or default()
    chain = store.get_bytes(ROLE, chain_key(certificate_id, fingerprint))
    key_pem = load_sealed(key_key(certificate_id, fingerprint), store)
    try:
        leaf = x509.load_pem_x509_certificates(chain)[0]
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError as exc:
        raise MaterialError(f"certificate {certificate_id}: stored material is unreadable") from exc
    if leaf.fingerprint(hashes.SHA256()).hex() != fingerprint:
        raise MaterialError(f"certificate {certificate_id}: stored chain is not version {fingerprint[:16]}")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != leaf.public_key().public_bytes(
        serialization.Encoding.DER, public
    ):
        raise MaterialError(f"certificate {certificate_id}: stored key does not match its certificate")
    return chain, key_pem


def sealed_keys(store: ObjectStore | None = None) -> list[str]:
    """Every sealed key in the bucket (all versions, pending orders, ACME accounts)."""
    store = store or default()
    found = [*store.keys(ROLE, "certificates/"), *store.keys(ROLE, "acme/")]
    return sorted(k for k in found if _KEY_PATH_RE.fullmatch(k))


def rotate(new: crypto.MasterKey, store: ObjectStore | None = None) -> tuple[int, int, dict[str, str]]:
    """Reseal every key not yet under `new`; safe to re-run after an interruption.

    Every envelope is opened first: if any cannot be (damaged, or sealed under a key not configured),
    nothing is written and they are returned as {object: why}, so a rotation never leaves keys under a
    key that will not be switched to. Returns (resealed, already current, failures). Raises StorageError.
    """
    store = store or default()
    keys = crypto.keyring(new)
    pending, current, failed = {}, 0, {}
    for object_key in sealed_keys(store):
        envelope = store.get_bytes(ROLE, object_key)
        try:
            if crypto.key_id(envelope) == new.kid:
                current += 1
                continue
            pending[object_key] = crypto.reseal(envelope, context_of(object_key), new, keys)
        except crypto.DecryptionError as exc:
            failed[object_key] = str(exc)
    if failed:
        return 0, current, failed
    for object_key, sealed in pending.items():
        store.put_bytes(ROLE, object_key, sealed)
    return len(pending), current, {}
