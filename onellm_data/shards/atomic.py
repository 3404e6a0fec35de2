"""Durable file operations: write to a temporary name, fsync, rename, fsync the directory.

Disk errors are re-raised as ``CorpusError`` naming the path, so a full disk or a read-only output directory
never surfaces as a bare ``OSError`` deep in a worker.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

from onellm_data.errors import CorpusError

TMP_PREFIX = ".tmp-"


HOST = socket.gethostname().replace("+", "_")


def tmp_path_for(path: Path) -> Path:
    """The temporary sibling a file is written to before its atomic rename, named by host and process so that
    a cleanup never deletes files that a live process on any machine sharing the corpus is still writing."""
    return path.with_name(f"{TMP_PREFIX}{HOST}+{os.getpid()}-{path.name}")


def _writer_alive(name: str) -> bool:
    """Whether the process that owns temporary file ``name`` may still be writing it."""
    rest = name[len(TMP_PREFIX):]
    host, sep, tail = rest.partition("+")
    if not sep:  # no host in the name: another tool's file, or a dedup spill (anonymous, never on disk by name)
        return False
    if host != HOST:
        return True  # another machine's process: only a rerun of that partition may remove it
    pid = tail.split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def disk_error(path: Path | str, exc: OSError) -> CorpusError:
    """A clear, path-naming error for an OS-level write failure."""
    what = {
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EROFS: "read-only file system",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return CorpusError(f"cannot write {path}: {what}")


def ensure_writable_dir(path: Path) -> None:
    """Create ``path`` if needed and prove it is writable, failing early with a clear error."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f"{TMP_PREFIX}{os.getpid()}-probe"
        with open(probe, "wb") as fh:
            fh.write(b"x")
        probe.unlink()
    except OSError as exc:
        raise disk_error(path, exc) from exc
    if not os.access(path, os.W_OK):
        raise CorpusError(f"cannot write {path}: permission denied")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: Path, final: Path) -> None:
    """Atomically move a fully written, fsynced temporary file to its final name."""
    try:
        os.replace(tmp, final)
        fsync_dir(final.parent)
    except OSError as exc:
        raise disk_error(final, exc) from exc


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def _unpublished(path: Path) -> Iterator[Path]:
    """Yield ``path``'s temporary sibling to write; fsync it after, remove it on failure (disk errors name ``path``)."""
    tmp = tmp_path_for(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise disk_error(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write (e.g. with pyarrow); fsync and rename it on success, remove on failure."""
    with _unpublished(path) as tmp:
        yield tmp
    commit(tmp, path)


def write_unpublished(path: Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` then fsync, without the rename: for files published together later, each with ``commit``."""
    with _unpublished(path) as tmp:
        write(tmp)
    return tmp


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    """The sha256 hex digest of a file, read in 4 MiB blocks (hashlib releases the GIL on large blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def remove_stale_tmp(directory: Path) -> int:
    """Delete temporary files left by killed runs on this machine (files of live processes, and of other
    machines, are left alone); returns how many were removed."""
    removed = 0
    if directory.is_dir():
        for stale in directory.rglob(f"{TMP_PREFIX}*"):
            if _writer_alive(stale.name):
                continue
            with contextlib.suppress(OSError):
                stale.unlink()
                removed += 1
    return removed
