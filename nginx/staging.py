"""The on-disk layout of a data-plane node's nginx prefix, and the file operations on it.

    <prefix>/
        logs/                 nginx.pid, error.log, access.log, stderr.log (foreground start)
        tmp/<kind>/           the five *_temp_path directories (created by nginx)
        revisions/<n>/        one staged revision: compiled files, node/ files, `checksum`
        current -> revisions/<n>   what nginx loads (`-c current/main.conf`); swapped atomically
        .apply.lock           fcntl lock: one applier at a time per prefix

nginx is always started with `-c current/main.conf`, so a reload re-reads whatever `current`
points to at that moment; relative includes resolve inside the revision directory itself.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from nginx.compiler import TEMP_PATHS

REVISIONS = "revisions"
CURRENT = "current"
CHECKSUM_FILE = "checksum"
LOCK_FILE = ".apply.lock"
KEEP_REVISIONS = 10
FILE_MODE = 0o640
DIR_MODE = 0o750
# Certificate chains and private keys: only nginx's master (root, it loads them) may read them.
SECRET_FILE_MODE = 0o600
SECRET_DIR_MODE = 0o700
SECRET_ROOT = "tls"

_PATH_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}", re.ASCII)
_TARGET_RE = re.compile(rf"{REVISIONS}/([0-9]{{1,16}})", re.ASCII)


def prepare_prefix(prefix: Path) -> None:
    """Create the prefix directories.

    The prefix and tmp/ stay traversable (0755): when the master runs as root its workers run as
    `nobody` and must reach tmp/<kind>/ to buffer large request and response bodies.
    """
    prefix.mkdir(parents=True, exist_ok=True)
    prefix.chmod(0o755)
    (prefix / "logs").mkdir(exist_ok=True)
    (prefix / "tmp").mkdir(mode=0o755, exist_ok=True)
    for kind in TEMP_PATHS:
        (prefix / "tmp" / kind).mkdir(exist_ok=True)
    (prefix / REVISIONS).mkdir(mode=DIR_MODE, exist_ok=True)


def revision_dir(prefix: Path, revision: int) -> Path:
    return prefix / REVISIONS / str(revision)


def current_target(prefix: Path) -> str | None:
    """Where `current` points (`revisions/<n>`), or None if there is no usable link."""
    try:
        target = os.readlink(prefix / CURRENT)
    except OSError:
        return None
    return target if _TARGET_RE.fullmatch(target) else None


def live(prefix: Path) -> tuple[int, str] | None:
    """(revision, checksum) of the revision `current` points to, or None."""
    target = current_target(prefix)
    if target is None:
        return None
    match = _TARGET_RE.fullmatch(target)
    assert match is not None  # current_target only returns matching targets
    try:
        checksum = (prefix / target / CHECKSUM_FILE).read_text().strip()
    except OSError:
        return None
    return int(match.group(1)), checksum


def check_relative_path(path: str) -> None:
    """Refuse paths that could leave the revision directory or hide as dotfiles."""
    parts = path.split("/")
    if not all(_PATH_PART_RE.fullmatch(part) for part in parts) or path == CHECKSUM_FILE:
        raise ValueError(f"refusing to stage file {ascii(path)[:80]}")


def stage_revision(
    prefix: Path,
    revision: int,
    files: Mapping[str, str],
    checksum: str,
    secret_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a complete revision directory, atomically (built aside, then renamed into place).

    An existing directory for the same number is replaced: it is a leftover of an apply that
    did not go live (the caller refuses to restage the live revision). `secret_files` go under
    `tls/` in directories of their own, readable by root only.
    """
    secret_files = secret_files or {}
    for path in [*files, *secret_files]:
        check_relative_path(path)
    secret_dirs = {path.rsplit("/", 1)[0] for path in secret_files}
    for path in secret_files:
        if not path.startswith(SECRET_ROOT + "/") or path in files:
            raise ValueError(f"refusing to stage secret file {ascii(path)[:80]}")
    if any(path.rsplit("/", 1)[0] in secret_dirs for path in files):
        # A compiled file beside a key would keep that directory readable beyond root.
        raise ValueError("refusing to stage compiled files in a directory that holds secret files")
    root = prefix / REVISIONS
    building = Path(tempfile.mkdtemp(prefix=f".staging-{revision}-", dir=root))
    try:
        building.chmod(DIR_MODE)
        for path, text in sorted(files.items()):
            _write(building, path, text)
        for path, data in sorted(secret_files.items()):
            _write(building, path, data, SECRET_FILE_MODE, SECRET_DIR_MODE)
        _write(building, CHECKSUM_FILE, checksum + "\n")
        final = revision_dir(prefix, revision)
        if final.exists():
            shutil.rmtree(final)
        building.rename(final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return final


def _write(
    root: Path, path: str, content: str | bytes, mode: int = FILE_MODE, dir_mode: int = DIR_MODE
) -> None:
    target = root / path
    for parent in reversed(target.relative_to(root).parents):
        directory = root / parent
        if not directory.exists():
            directory.mkdir(mode=dir_mode)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content.encode() if isinstance(content, str) else content)


def point_current(prefix: Path, target: str | None) -> None:
    """Atomically repoint `current` (a fresh symlink renamed over the old one); None removes it."""
    link = prefix / CURRENT
    if target is None:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        return
    if not _TARGET_RE.fullmatch(target):
        raise ValueError(f"not a revision target: {target!r}")
    temporary = prefix / f".{CURRENT}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(target, temporary)
    os.replace(temporary, link)


def remove_revision(prefix: Path, revision: int) -> None:
    shutil.rmtree(revision_dir(prefix, revision), ignore_errors=True)


def prune(prefix: Path, keep: int = KEEP_REVISIONS) -> list[int]:
    """Delete all but the `keep` newest revision directories, never the live one; returns removed."""
    root = prefix / REVISIONS
    numbers = sorted(int(p.name) for p in root.iterdir() if p.name.isdigit() and p.is_dir())
    current = live(prefix)
    protected = set(numbers[-keep:]) | ({current[0]} if current else set())
    removed = [n for n in numbers if n not in protected]
    for number in removed:
        remove_revision(prefix, number)
    for leftover in root.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return removed


@contextlib.contextmanager
def apply_lock(prefix: Path, timeout_s: float) -> Iterator[None]:
    """Exclusive per-prefix lock, so two appliers on one node never interleave."""
    fd = os.open(prefix / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another apply holds {prefix / LOCK_FILE}") from exc
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
