"""Process control of a real nginx: bootstrap, start, reload, stop."""

import os
import socket
import time

import pytest

from nginx import process, staging

pytestmark = pytest.mark.timeout(60)


def test_bootstrap_stages_an_empty_revision_zero_once(prefix, params):
    process.bootstrap(prefix, params)
    assert staging.live(prefix)[0] == 0
    assert os.readlink(prefix / "current") == "revisions/0"
    assert (prefix / "revisions" / "0" / "node" / "status.conf").exists()
    staging.point_current(prefix, None)
    staging.stage_revision(prefix, 5, {"main.conf": ""}, "five")
    staging.point_current(prefix, "revisions/5")
    process.bootstrap(prefix, params)
    assert staging.live(prefix) == (5, "five")


def test_start_answers_status_and_stop_is_graceful(prefix, params):
    process.bootstrap(prefix, params)
    proc = process.start(prefix, params)
    try:
        assert process.is_running(prefix)
        assert process.master_pid(prefix) == proc.pid
        assert process.status_get(params, "/revision") == "0\n"
        assert process.status_get(params, "/healthz") == "ok\n"
        assert process.status_get(params, "/other") is None
        with pytest.raises(RuntimeError, match="already running"):
            process.start(prefix, params)
    finally:
        assert process.stop(proc) == 0
    assert not process.is_running(prefix)
    assert process.status_get(params, "/healthz") is None


def test_reload_replaces_the_workers(prefix, params):
    process.bootstrap(prefix, params)
    proc = process.start(prefix, params)
    try:
        before = process.worker_pids(proc.pid)
        assert before
        assert process.reload(prefix) == proc.pid
        deadline = time.monotonic() + 5
        while process.worker_pids(proc.pid) & before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process.worker_pids(proc.pid) & before
    finally:
        process.stop(proc)
    with pytest.raises(RuntimeError, match="not running"):
        process.reload(prefix)


def test_start_reports_why_nginx_could_not_start(prefix, params):
    process.bootstrap(prefix, params)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", params.status_port))
        taken.listen()
        with pytest.raises(RuntimeError, match="Address already in use"):
            process.start(prefix, params, timeout_s=10)
    assert not process.is_running(prefix)


def test_a_stale_pid_file_does_not_count_as_running(prefix, params):
    process.bootstrap(prefix, params)
    (prefix / "logs" / "nginx.pid").write_text(f"{os.getpid()}\n")  # alive, but not nginx
    assert not process.is_running(prefix)
    (prefix / "logs" / "nginx.pid").write_text("999999999\n")
    assert process.master_pid(prefix) is None
