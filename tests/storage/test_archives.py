"""Revision archives: every applied revision lands in object storage and can be put live from it alone."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from appliance.core import archive, storage
from appliance.lb import services
from appliance.lb.models import ConfigRevision, Server, Upstream, VirtualServer
from appliance.lb.services import broadcast_converge
from appliance.tls import node as tls_node
from nginx import process
from nginx.applier import NodeApplier
from nginx.model import NodeParams
from tests.support.lb import free_port, get, node_revision, wait_until
from tests.tls import pki
from tests.tls.client import fetch


def _archived(number: int) -> dict | None:
    if not storage.exists("archives", archive.manifest_key(number)):
        return None
    return json.loads(storage.get_bytes("archives", archive.manifest_key(number)))


def test_an_applied_revision_is_archived_with_manifest_and_checksum(sites, intermediate):
    cert = sites.upload("arch", pki.issue(intermediate, ["arch.test"]))
    sites.site("arch", ["arch.test"], [cert])
    revision = ConfigRevision.objects.order_by("-number").first()
    manifest = wait_until(lambda: _archived(revision.number), 30, "the archive of the revision")
    assert manifest["checksum"] == revision.checksum and manifest["revision"] == revision.number
    tarball = storage.get_bytes("archives", manifest["archive"]["key"])
    assert hashlib.sha256(tarball).hexdigest() == manifest["archive"]["sha256"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(tarball))) as tar:
        names = tar.getnames()
    assert "sites/arch.conf" in names and "tls/certificates.json" in names
    assert not any(name.startswith(("tls/keys", "tls/certs", "node/")) for name in names)
    assert sorted(names) == sorted(revision.files) == sorted(manifest["files"])


def _site_to(name: str, backend_port: int, http_port: int) -> None:
    """Point the catch-all site on `http_port` at one backend (creating it the first time)."""
    with transaction.atomic():
        upstream, _ = Upstream.objects.get_or_create(name=name)
        Server.objects.get_or_create(upstream=upstream, address="127.0.0.1", port=backend_port)
        vs, created = VirtualServer.objects.get_or_create(
            name="restore", defaults={"http_ports": [http_port], "default_upstream": upstream}
        )
        if not created:
            vs.default_upstream = upstream
            vs.save()
        services.mark_changed(f"restore test: {name}", "tests")


def test_a_pruned_revision_is_put_live_again_from_object_storage_alone(sites):
    first, second = sites.backend("first"), sites.backend("second")
    port = free_port()
    _site_to("first", first.port, port)
    old = sites.wait()
    wait_until(lambda: _archived(old.number), 30, "the archive")
    _site_to("second", second.port, port)
    sites.wait()
    assert get(f"http://127.0.0.1:{port}/")[1] == "second"
    ConfigRevision.objects.filter(number=old.number).update(files={})

    call_command("restore_revision", old.number)
    restored = sites.wait()
    assert restored.rollback_of_id == old.pk and restored.checksum == old.checksum
    assert get(f"http://127.0.0.1:{port}/")[1] == "first"
    assert ConfigRevision.objects.get(number=old.number).files == {}

    # Straight onto this node (no new revision): the node serves revision N again, from the archive.
    _site_to("second", second.port, port)
    newest = sites.wait()
    call_command("restore_revision", old.number, this_node=True)
    status = sites.stack.nodes[0].status_url
    assert node_revision(status) == old.number and get(f"http://127.0.0.1:{port}/")[1] == "first"
    broadcast_converge()  # the agent moves the node back to the newest revision
    wait_until(lambda: node_revision(status) == newest.number, 30, "the node to converge again")


def test_a_tampered_archive_is_refused(sites):
    backend = sites.backend("tamper")
    _site_to("tamper", backend.port, free_port())
    revision = sites.wait()
    manifest = wait_until(lambda: _archived(revision.number), 30, "the archive")
    tarball = bytearray(storage.get_bytes("archives", manifest["archive"]["key"]))
    tarball[-20] ^= 0xFF
    storage.put_bytes("archives", manifest["archive"]["key"], bytes(tarball))
    with pytest.raises(CommandError, match="does not match its manifest"):
        call_command("restore_revision", revision.number)


NODE_ADDRESS = "127.0.0.3"


@pytest.fixture
def second_node() -> Iterator[NodeApplier]:
    """Another data-plane node: its own nginx on 127.0.0.3, started from revision 0.

    Not 127.0.0.2: the suite's second agent node (tests/integration/test_safety.py) may be listening
    there on every virtual server's ports.
    """
    params = NodeParams(name="restored", bind_address=NODE_ADDRESS, status_port=free_port(NODE_ADDRESS))
    # Traversable by nginx's workers (they run as nobody), like a node's prefix.
    prefix = Path(tempfile.mkdtemp(prefix="lb-restored-node-", dir="/tmp"))
    prefix.chmod(0o755)
    process.bootstrap(prefix, params)
    proc = process.start(prefix, params)
    yield NodeApplier(prefix, params)
    process.stop(proc)
    shutil.rmtree(prefix, ignore_errors=True)


def test_a_new_node_restores_a_pruned_tls_revision_with_its_keys_from_storage(
    sites, intermediate, second_node
):
    leaf = pki.issue(intermediate, ["restore.test"])
    cert = sites.upload("restore-cert", leaf)
    site = sites.site("restore", ["restore.test"], [cert])
    revision = ConfigRevision.objects.order_by("-number").first()
    wait_until(lambda: _archived(revision.number), 30, "the archive")
    ConfigRevision.objects.filter(pk=revision.pk).update(files={})
    revision.refresh_from_db()

    result = tls_node.apply_revision(second_node, revision)
    assert result.ok, result.message
    served = fetch(site.https_port, "restore.test", host=NODE_ADDRESS)
    assert served.fingerprint == leaf.fingerprint and served.status == 200
    assert get(f"http://{NODE_ADDRESS}:{site.http_port}/", headers={"Host": "restore.test"}) == (
        200,
        "restore",
    )
