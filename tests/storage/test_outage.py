"""Object-storage outages: a clear error at once, workers retry until storage is back, nothing live breaks."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from appliance.core import archive, storage
from appliance.core.storage import StorageError
from appliance.launcher.services import CeleryProcess
from appliance.lb.agent import node_params
from appliance.lb.models import ConfigRevision
from appliance.tls import node as tls_node
from nginx.applier import NodeApplier
from tests.storage.conftest import Relay
from tests.support.lb import get, node_revision, wait_until
from tests.tls import pki
from tests.tls.client import fetch


def test_a_dead_endpoint_is_a_clear_storage_error_within_seconds(dead_store, dead_endpoint):
    started = time.monotonic()
    with pytest.raises(StorageError, match=r"cannot store lb-config-archives/probe"):
        dead_store.put_bytes("archives", "probe", b"x")
    with pytest.raises(StorageError, match="object storage unreachable"):
        dead_store.ping()
    assert time.monotonic() - started < 10
    assert dead_endpoint not in str(settings.LB_S3["secret_key"])


def test_a_node_that_cannot_reach_storage_applies_nothing_and_keeps_serving(sites, intermediate, dead_store):
    cert = sites.upload("outage", pki.issue(intermediate, ["outage.test"]))
    site = sites.site("outage", ["outage.test"], [cert])
    revision = ConfigRevision.objects.order_by("-number").first()
    applier = NodeApplier(sites.stack.nodes[0].prefix, node_params())
    before = applier.live()
    assert before is not None and before[0] == revision.number
    # The same revision as a newer number (not saved): what a node would be asked to apply next.
    newer = ConfigRevision(number=revision.number + 1, files=revision.files, checksum=revision.checksum)
    with pytest.raises(StorageError):
        tls_node.apply_revision(applier, newer, store=dead_store)
    assert applier.live() == before
    assert node_revision(sites.stack.nodes[0].status_url) == before[0]
    assert fetch(site.https_port, "outage.test").status == 200


def test_archiving_retries_through_an_outage_and_completes_when_storage_is_back(
    sites, dead_endpoint, relay_to_storage
):
    site = sites.site("retry", ["retry.test"], [sites.upload("retry", pki.issue(_ca(), ["retry.test"]))])
    revision = ConfigRevision.objects.order_by("-number").first()
    wait_until(lambda: storage.exists("archives", archive.manifest_key(revision.number)), 30, "the archive")
    # A worker whose object storage is down archives a copy of it (number 0: older than any, so no node
    # agent takes it for the newest revision).
    copy = ConfigRevision.objects.create(number=0, files=revision.files, checksum=revision.checksum)
    worker = CeleryProcess(
        sites.stack.cfg,
        "outage-worker",
        [
            "worker",
            "-Q",
            "outage",
            "-n",
            "outage@%h",
            "-c",
            "1",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        env={"LB_S3_ENDPOINT": dead_endpoint},
    )
    worker.start()
    try:
        from workers.archive import archive_revision

        archive_revision.apply_async(args=[copy.pk], queue="outage")
        log = worker.child.log
        wait_until(lambda: "Retry in" in log.read_text() and "StorageError" in log.read_text(), 30, "a retry")
        assert "object storage" in log.read_text() or "cannot look up" in log.read_text()
        assert get(f"http://127.0.0.1:{site.http_port}/", headers={"Host": "retry.test"}) == (200, "retry")
        assert not storage.exists("archives", archive.manifest_key(copy.number))
        relay_to_storage.append(Relay(dead_endpoint, settings.LB_S3["endpoint"]))
        wait_until(
            lambda: storage.exists("archives", archive.manifest_key(copy.number)), 60, "the late archive"
        )
    finally:
        worker.stop()
    assert archive.load(copy.number).checksum == revision.checksum
    assert site.backend.hits() >= 1


def _ca() -> pki.Issued:
    return pki.make_ca("outage CA")
