"""Envelope encryption of private keys at rest: AES-256-GCM with a fresh data key per object.

    envelope = JSON {"format": "lb-envelope-1", "kid": <master key id>,
                     "wrapped_key": b64(nonce ‖ AES-GCM(master, data key, aad)),
                     "ciphertext": b64(nonce ‖ AES-GCM(data key, plaintext, aad))}

The master key is derived (HKDF-SHA256) from the `encryption-key` secret (`LB_ENCRYPTION_KEY` or
`LB_ENCRYPTION_KEY_FILE`, else generated once into the state directory). It is read on every use, so a
rotated secret file takes effect without a restart. `kid` names the master key that wrapped the data key,
so decryption picks the right key during a rotation; `LB_ENCRYPTION_KEY_PREVIOUS[_FILE]` may name the
key being retired. The AAD binds a ciphertext to its owner (`certificate:<id>`): an envelope copied onto
another certificate does not decrypt. Any change to an envelope makes decryption fail loudly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from appliance.launcher.config import env_str

FORMAT = "lb-envelope-1"
_NONCE = 12


class DecryptionError(ValueError):
    """An envelope could not be opened: unknown key, wrong owner, or tampered with."""


@dataclass(frozen=True)
class MasterKey:
    """A 256-bit key-encryption key and its public identifier."""

    key: bytes
    kid: str

    @classmethod
    def from_secret(cls, secret: str) -> MasterKey:
        if len(secret) < 16:
            raise ValueError("the encryption key must be at least 16 characters")
        key = HKDF(hashes.SHA256(), 32, salt=None, info=b"lb-appliance master key v1").derive(secret.encode())
        return cls(key, hashlib.sha256(b"lb-kid" + key).hexdigest()[:16])


def current_key() -> MasterKey:
    return MasterKey.from_secret(settings.STACK.secret("encryption-key"))


def keyring(*extra: MasterKey) -> dict[str, MasterKey]:
    """Keys that may open envelopes: the current one, the retiring one if configured, and `extra`."""
    keys = [current_key(), *extra]
    previous = env_str("LB_ENCRYPTION_KEY_PREVIOUS", "")
    if previous:
        keys.append(MasterKey.from_secret(previous))
    return {k.kid: k for k in keys}


def _aad(context: str, part: str) -> bytes:
    return f"{FORMAT}|{part}|{context}".encode()


def encrypt(plaintext: bytes, context: str, master: MasterKey | None = None) -> bytes:
    """Seal `plaintext` for `context` under `master` (default: the current key)."""
    master = master or current_key()
    data_key = AESGCM.generate_key(bit_length=256)
    key_nonce, data_nonce = os.urandom(_NONCE), os.urandom(_NONCE)
    wrapped = key_nonce + AESGCM(master.key).encrypt(key_nonce, data_key, _aad(context, "key"))
    sealed = data_nonce + AESGCM(data_key).encrypt(data_nonce, plaintext, _aad(context, "data"))
    envelope = {
        "format": FORMAT,
        "kid": master.kid,
        "wrapped_key": base64.b64encode(wrapped).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return json.dumps(envelope, sort_keys=True).encode()


def key_id(envelope: bytes) -> str:
    """The id of the master key an envelope was sealed with."""
    return _parse(envelope)["kid"]


def decrypt(envelope: bytes, context: str, keys: dict[str, MasterKey] | None = None) -> bytes:
    """Open an envelope sealed for `context`; raises DecryptionError on any mismatch or tampering."""
    fields = _parse(envelope)
    keys = keys if keys is not None else keyring()
    master = keys.get(fields["kid"])
    if master is None:
        raise DecryptionError(f"envelope was sealed with master key {fields['kid']}, which is not configured")
    try:
        wrapped = base64.b64decode(fields["wrapped_key"], validate=True)
        sealed = base64.b64decode(fields["ciphertext"], validate=True)
        data_key = AESGCM(master.key).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], _aad(context, "key"))
        return AESGCM(data_key).decrypt(sealed[:_NONCE], sealed[_NONCE:], _aad(context, "data"))
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise DecryptionError(
            f"envelope for {context} failed authentication: it was altered or belongs to another object"
        ) from exc


def reseal(envelope: bytes, context: str, new: MasterKey, keys: dict[str, MasterKey]) -> bytes:
    """The same plaintext sealed under `new` (a fresh data key too)."""
    return encrypt(decrypt(envelope, context, keys), context, new)


def _parse(envelope: bytes) -> dict[str, str]:
    try:
        fields = json.loads(envelope)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecryptionError("not an encrypted envelope (unreadable)") from exc
    required = ("format", "kid", "wrapped_key", "ciphertext")
    if (
        not isinstance(fields, dict)
        or fields.get("format") != FORMAT
        or not all(isinstance(fields.get(k), str) for k in required)
    ):
        raise DecryptionError("not an encrypted envelope (unknown format)")
    return fields
