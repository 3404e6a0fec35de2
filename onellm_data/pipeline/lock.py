"""One writer per source: the lock a conversion holds on ``corpus/index/locks/<source>.lock``.

A whole-source run holds that file exclusively; a ``--partition i/n`` run holds it shared plus
``<source>.part-<i>-of-<n>.lock`` exclusively, so partitioned runs proceed side by side while a whole-source run
(or a second run of the same i/n) is refused. The holder writes its host, pid and start time into the file it
holds exclusively, for the refusal message. Locks are kernel ``flock``s: they vanish with the process that held
them, so a lock file left by a killed run (its pid dead) is stale by construction and simply taken over.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from onellm_data.errors import CorpusError
from onellm_data.index import index_dir
from onellm_data.shards.atomic import HOST

LOCKS_DIR = "locks"


def lock_dir(corpus: Path) -> Path:
    return index_dir(corpus) / LOCKS_DIR


def _holder(path: Path) -> str:
    """Who holds ``path``, as its owner wrote it ("pid 123 on host h since …"), or a generic phrase."""
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info or (info.get("host") == HOST and not _pid_alive(int(info.get("pid", 0)))):
        return "another process"  # empty, or left by a run that died (then its lock is not what blocks us)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(info.get("started", 0)))
    what = f" (partition {info['partition']})" if info.get("partition") else ""
    return f"pid {info.get('pid')} on host {info.get('host')}{what}, since {started}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock(path: Path, exclusive: bool) -> int | None:
    """The fd holding ``path`` locked, or None when someone else holds it in a conflicting mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return None
            raise CorpusError(f"cannot lock {path}: {exc.strerror} (the corpus filesystem must support flock)") from exc
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the file was removed by its previous holder after we opened it: lock the new one


def _write_owner(fd: int, partition: str | None) -> None:
    info = {"host": HOST, "pid": os.getpid(), "started": time.time(), "partition": partition}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)


def _refuse(corpus: Path, source: str, held: Path) -> CorpusError:
    holders = [held] + sorted(p for p in lock_dir(corpus).glob(f"{source}.part-*.lock") if p != held)
    who = next((_holder(p) for p in holders if _holder(p) != "another process"), "another process")
    return CorpusError(f"source {source!r} is already being converted into {corpus} by {who}; wait for that run to "
                       f"finish or stop it (lock: {held})")


@contextlib.contextmanager
def source_lock(corpus: Path, source: str, shard_of: tuple[int, int] | None = None) -> Iterator[None]:
    """Hold the conversion lock of ``source`` in ``corpus`` for the ``with`` body; refuse clearly if taken."""
    main = lock_dir(corpus) / f"{source}.lock"
    part = lock_dir(corpus) / f"{source}.part-{shard_of[0]}-of-{shard_of[1]}.lock" if shard_of else None
    fds: list[int] = []
    owned: int | None = None
    try:
        fd = _lock(main, exclusive=part is None)
        if fd is None:
            raise _refuse(corpus, source, main)
        fds.append(fd)
        owned = fd
        if part is not None:
            owned = _lock(part, exclusive=True)
            if owned is None:
                raise _refuse(corpus, source, part)
            fds.append(owned)
        _write_owner(owned, f"{shard_of[0]}/{shard_of[1]}" if shard_of else None)
        yield
    finally:
        if owned is not None:  # however the run ended (only SIGKILL skips this: then the kernel frees the lock)
            if part is not None:
                part.unlink()  # removed while held (see _lock): a partitioned run leaves only what a whole run leaves
            else:
                os.ftruncate(owned, 0)  # shared by partitioned runs, so never removed: left empty and unheld
        for fd in reversed(fds):
            os.close(fd)
