"""Private keys at rest: sealed in the bucket, tampering detected, bound to their owner, rotation."""

from __future__ import annotations

import base64
import json

import pytest
from django.core.management import CommandError, call_command

from appliance.core import storage
from appliance.tls import crypto, materials
from tests.support.lb import node_revision, wait_until
from tests.tls import pki
from tests.tls.client import fetch


def _raw(key: str) -> bytes:
    """The object's bytes exactly as the S3 server holds them (MinIO client, no appliance code)."""
    response = storage.client().get_object(storage.bucket("certificates"), key)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


def _write_raw(key: str, data: bytes) -> None:
    storage.put_bytes("certificates", key, data)


def test_the_bucket_holds_the_key_only_sealed(sites, intermediate):
    leaf = pki.issue(intermediate, ["sealed.test"], key=pki.new_key("rsa"))
    cert = sites.upload("sealed", leaf)
    raw = _raw(materials.key_key(cert, leaf.fingerprint))
    key_body = "".join(leaf.key_pem.splitlines()[1:-1])
    assert b"PRIVATE KEY" not in raw
    for chunk in (key_body[i : i + 24] for i in range(0, len(key_body), 200)):
        assert chunk.encode() not in raw
    envelope = json.loads(raw)
    assert envelope["format"] == "lb-envelope-1" and envelope["kid"] == crypto.current_key().kid
    assert materials.load_version(cert, leaf.fingerprint)[1].decode() == leaf.key_pem


def test_a_flipped_byte_fails_loudly_and_the_node_keeps_serving(sites, intermediate):
    ok = sites.upload("ok-cert", pki.issue(intermediate, ["ok.test"]))
    site = sites.site("ok", ["ok.test"], [ok])
    leaf = pki.issue(intermediate, ["tampered.test"])
    cert = sites.upload("tampered", leaf)
    key = materials.key_key(cert, leaf.fingerprint)
    original = _raw(key)
    envelope = json.loads(original)
    sealed = bytearray(base64.b64decode(envelope["ciphertext"]))
    sealed[len(sealed) // 2] ^= 0x01
    envelope["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    _write_raw(key, json.dumps(envelope).encode())
    try:
        with pytest.raises(crypto.DecryptionError, match="failed authentication"):
            materials.load_version(cert, leaf.fingerprint)
        live = sites.wait().number
        response = sites.api.patch(
            f"/api/v1/tls-bindings/{site.binding['id']}/", {"certificates": [ok, cert]}, format="json"
        )
        assert response.status_code == 200
        failed = wait_until(lambda: _failed_revision(live), 30, "the node to refuse the revision")
        assert "failed authentication" in failed.error
        assert node_revision(sites.stack.nodes[0].status_url) == live
        assert fetch(site.https_port, "ok.test").status == 200
    finally:
        _write_raw(key, original)


def _failed_revision(after: int):  # type: ignore[no-untyped-def]
    from appliance.lb.models import ConfigRevision

    return ConfigRevision.objects.filter(number__gt=after, status="failed").first()


def test_an_envelope_copied_to_another_certificate_does_not_open_and_blocks_no_other_key(
    sites, intermediate, tmp_path
):
    first, second = pki.issue(intermediate, ["one.test"]), pki.issue(intermediate, ["two.test"])
    one, two = sites.upload("one", first), sites.upload("two", second)
    target = materials.key_key(two, second.fingerprint)
    original = _raw(target)
    _write_raw(target, _raw(materials.key_key(one, first.fingerprint)))
    try:
        with pytest.raises(crypto.DecryptionError):
            materials.load_version(two, second.fingerprint)
        with pytest.raises(CommandError, match="1 keys could not be opened; nothing was changed"):
            call_command("rotate_encryption_key", new_key_file=str(_key_file(tmp_path, "never used key 123")))
        untouched = materials.key_key(one, first.fingerprint)
        assert crypto.key_id(_raw(untouched)) == crypto.current_key().kid != _kid("never used key 123")
    finally:
        _write_raw(target, original)


def _key_file(directory, secret: str):  # type: ignore[no-untyped-def]
    path = directory / "key"
    path.write_text(secret + "\n")
    return path


def _kid(secret: str) -> str:
    return crypto.MasterKey.from_secret(secret).kid


def test_rotation_reseals_every_key_and_https_keeps_working(sites, intermediate, tmp_path):
    first = pki.issue(intermediate, ["rotate.test"])
    cert = sites.upload("rotate", first)
    site = sites.site("rotate", ["rotate.test"], [cert])
    site_revision = sites.wait().number
    old = crypto.current_key()
    new_file = tmp_path / "new-key"
    new_file.write_text("a brand new master key for the test\n")
    call_command("rotate_encryption_key", new_key_file=str(new_file))

    new = crypto.MasterKey.from_secret("a brand new master key for the test")
    assert crypto.current_key().kid == new.kid != old.kid
    raw = _raw(materials.key_key(cert, first.fingerprint))
    assert crypto.key_id(raw) == new.kid
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(raw, f"certificate:{cert}", {old.kid: old})
    assert all(crypto.key_id(_raw(k)) == new.kid for k in materials.sealed_keys())
    # A new revision makes the node open the resealed key again, with the new key, and serve with it.
    patch = sites.api.patch(
        f"/api/v1/tls-bindings/{site.binding['id']}/", {"hsts_max_age_s": 60}, format="json"
    )
    assert patch.status_code == 200
    before = sites.wait().number
    answer = fetch(site.https_port, "rotate.test")
    assert (
        answer.fingerprint == first.fingerprint
        and answer.headers["strict-transport-security"] == "max-age=60"
    )
    assert before > site_revision
