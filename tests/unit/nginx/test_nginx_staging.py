"""The prefix layout: staging, the `current` link, pruning and the apply lock (filesystem only)."""

import os
import stat
import threading

import pytest

from nginx import staging


@pytest.fixture
def prefix(tmp_path):
    staging.prepare_prefix(tmp_path)
    return tmp_path


def test_prepare_creates_the_layout(prefix):
    for path in ("logs", "tmp/proxy", "tmp/client_body", "revisions"):
        assert (prefix / path).is_dir()
    assert stat.S_IMODE((prefix / "revisions").stat().st_mode) == 0o750


def test_staging_writes_files_checksum_and_modes(prefix):
    path = staging.stage_revision(prefix, 3, {"main.conf": "x;\n", "sites/a.conf": "y;\n"}, "abc")
    assert path == prefix / "revisions" / "3"
    assert (path / "sites" / "a.conf").read_text() == "y;\n"
    assert (path / "checksum").read_text() == "abc\n"
    assert stat.S_IMODE((path / "main.conf").stat().st_mode) == 0o640
    assert stat.S_IMODE((path / "sites").stat().st_mode) == 0o750
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert not list((prefix / "revisions").glob(".staging-*"))


@pytest.mark.parametrize(
    "path",
    ["../evil.conf", "/etc/passwd", "a/../../b", ".hidden", "sites/.x", "a//b", "checksum", "a b", "a\n"],
)
def test_staging_refuses_paths_that_could_escape(prefix, path):
    with pytest.raises(ValueError):
        staging.stage_revision(prefix, 1, {path: "x"}, "abc")
    assert not (prefix / "revisions" / "1").exists()


def test_live_follows_the_current_link(prefix):
    assert staging.live(prefix) is None
    staging.stage_revision(prefix, 4, {"main.conf": ""}, "c4")
    staging.point_current(prefix, "revisions/4")
    assert os.readlink(prefix / "current") == "revisions/4"
    assert staging.live(prefix) == (4, "c4")
    staging.point_current(prefix, None)
    assert staging.live(prefix) is None


def test_current_only_points_at_revision_directories(prefix):
    with pytest.raises(ValueError):
        staging.point_current(prefix, "/etc")
    os.symlink("/etc", prefix / "current")
    assert staging.current_target(prefix) is None


def test_prune_keeps_the_newest_and_the_live_revision(prefix):
    for number in range(1, 15):
        staging.stage_revision(prefix, number, {"main.conf": ""}, f"c{number}")
    staging.point_current(prefix, "revisions/2")
    removed = staging.prune(prefix, keep=10)
    assert removed == [1, 3, 4]
    remaining = sorted(int(p.name) for p in (prefix / "revisions").iterdir())
    assert remaining == [2, *range(5, 15)]


def test_the_lock_excludes_a_second_holder(prefix):
    second = staging.apply_lock(prefix, timeout_s=0.2)
    with staging.apply_lock(prefix, timeout_s=1), pytest.raises(TimeoutError), second:
        pass
    with staging.apply_lock(prefix, timeout_s=0.2):
        pass


def test_the_lock_serializes_threads(prefix):
    inside, overlaps = [], []

    def work():
        with staging.apply_lock(prefix, timeout_s=5):
            if inside:
                overlaps.append(True)
            inside.append(1)
            threading.Event().wait(0.05)
            inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
