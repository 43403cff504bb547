"""The storage client over HTTPS: a private CA bundle verifies the S3 server; a wrong one is refused."""

from __future__ import annotations

import ssl

import pytest
from django.conf import settings

from appliance.core.storage import ObjectStore, StorageError
from tests.storage.conftest import Relay
from tests.support.lb import free_port
from tests.tls import pki


def test_https_storage_is_verified_against_the_configured_ca_bundle(infra, relay_to_storage, tmp_path):
    ca = pki.make_ca("S3 private CA")
    server = pki.issue(ca, ["localhost"])
    (tmp_path / "s3.pem").write_text(server.chain_pem)
    (tmp_path / "s3.key").write_text(server.key_pem)
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    (tmp_path / "other.pem").write_text(pki.make_ca("someone else").cert_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "s3.pem", tmp_path / "s3.key")
    endpoint = f"localhost:{free_port()}"
    relay_to_storage.append(
        Relay(endpoint.replace("localhost", "127.0.0.1"), settings.LB_S3["endpoint"], context)
    )
    secure = {**settings.LB_S3, "endpoint": endpoint, "secure": True}

    trusted = ObjectStore({**secure, "ca_file": str(tmp_path / "ca.pem")})
    trusted.put_bytes("reports", "tls-probe", b"over https")
    assert trusted.get_bytes("reports", "tls-probe") == b"over https"
    with pytest.raises(StorageError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        ObjectStore({**secure, "ca_file": str(tmp_path / "other.pem")}).get_bytes("reports", "tls-probe")
