"""Safe extraction of zip, tar, tar.gz and 7z archives.

Every member is checked before it is written: no absolute paths, no ``..`` that climbs out, no link whose
target resolves outside the target folder, no device or FIFO files. The destination of each member is
resolved against what is already on disk, so a symlink extracted earlier cannot be used to write elsewhere.
A refused archive raises ``UnsafeArchiveError`` naming the member; nothing is written outside the target.

Zip archives may not hold symlinks at all (zip has no portable link semantics, and a chain of links such as
``t -> .``, ``f -> t/../x`` followed by a regular ``f`` passes any per-member check); every file is created
without following a link at its final name. ``ExtractLimits`` caps what an archive may expand to, in total and
as a ratio of its own size, so a small archive cannot fill the disk unasked.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from onellm_data.download.errors import ArchiveTooLargeError, UnsafeArchiveError


@dataclass(frozen=True)
class ExtractLimits:
    """Caps on the bytes an archive may write; ``None`` disables a cap.

    The ratio cap allows ``max_ratio`` times the archive's size, but never less than ``ratio_floor_bytes``
    (small archives of text legitimately compress far more than media do)."""

    max_total_bytes: int | None = None
    max_ratio: float | None = 100.0
    ratio_floor_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        if self.max_total_bytes is not None and self.max_total_bytes < 0:
            raise ValueError(f"max_total_bytes must be >= 0, got {self.max_total_bytes}")
        if self.max_ratio is not None and not self.max_ratio > 0:
            raise ValueError(f"max_ratio must be > 0, got {self.max_ratio}")

    def budget(self, archive_bytes: int) -> int | None:
        caps = [] if self.max_total_bytes is None else [self.max_total_bytes]
        if self.max_ratio is not None:
            caps.append(max(int(self.max_ratio * archive_bytes), self.ratio_floor_bytes))
        return min(caps) if caps else None


class _Budget:
    """Counts bytes written for one archive and refuses the write that would pass the cap."""

    def __init__(self, archive: Path, archive_bytes: int, limits: ExtractLimits) -> None:
        self.archive, self.archive_bytes, self.limits = archive, archive_bytes, limits
        self.cap = limits.budget(archive_bytes)
        self.used = 0

    def take(self, n: int, member: str) -> None:
        self.used += n
        if self.cap is not None and self.used > self.cap:
            raise ArchiveTooLargeError(
                f"{self.archive}: member {member!r} takes the extracted size past the cap of {self.cap:,} bytes "
                f"(archive {self.archive_bytes:,} bytes; limits: total {self.limits.max_total_bytes or 'none'}, "
                f"ratio {self.limits.max_ratio or 'none'}x); refused. Raise the limits if this archive is trusted")


def archive_kind(path: Path) -> str:
    name = path.name.lower()
    for suffix, kind in ((".tar.gz", "tar.gz"), (".tgz", "tar.gz"), (".tar", "tar"), (".zip", "zip"), (".7z", "7z")):
        if name.endswith(suffix):
            return kind
    raise UnsafeArchiveError(f"{path}: unknown archive type (expected zip, tar, tar.gz or 7z)")


def safe_extract(archive: Path | Sequence[Path], target: Path, kind: str | None = None,
                 strip_components: int = 0, limits: ExtractLimits | None = None) -> int:
    """Extract ``archive`` (or the concatenation of several parts, as split downloads are) into ``target``.

    Returns the number of members written.
    """
    parts = [Path(archive)] if isinstance(archive, (str, Path)) else [Path(p) for p in archive]
    kind = kind or archive_kind(parts[0])
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(target))
    budget = _Budget(parts[0], sum(p.stat().st_size for p in parts), limits or ExtractLimits())
    if kind in ("tar", "tar.gz"):
        return _extract_tar(parts, root, "r|gz" if kind == "tar.gz" else "r|", strip_components, budget)
    if len(parts) != 1:
        raise UnsafeArchiveError(f"{parts[0]}: split parts are only supported for tar archives")
    if kind == "zip":
        return _extract_zip(parts[0], root, strip_components, budget)
    if kind == "7z":
        return _extract_7z(parts[0], root, strip_components, budget)
    raise UnsafeArchiveError(f"{parts[0]}: unknown archive kind {kind!r}")


def member_destination(root: Path, name: str, archive: Path, strip_components: int = 0) -> Path | None:
    """Where member ``name`` goes under ``root``, or an error if it would leave it; None if stripped away."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refused")
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} climbs out with '..'; refused")
    parts = parts[strip_components:]
    if not parts:
        return None
    dest = root.joinpath(*parts)
    # Resolve through links already on disk: an earlier symlink member must not redirect this one.
    resolved = Path(os.path.realpath(dest.parent)) / dest.name
    if not _inside(resolved, root):
        raise UnsafeArchiveError(f"{archive}: member {name!r} would be written outside {root} "
                                 f"(through a link); refused")
    return dest


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _check_link(root: Path, dest: Path, link_target: str, name: str, archive: Path) -> None:
    if os.path.isabs(link_target):
        raise UnsafeArchiveError(f"{archive}: link {name!r} points to absolute path {link_target!r}; refused")
    resolved = Path(os.path.normpath(Path(os.path.realpath(dest.parent)) / link_target))
    if not _inside(resolved, root):
        raise UnsafeArchiveError(f"{archive}: link {name!r} -> {link_target!r} points outside {root}; refused")


class _Concat(io.RawIOBase):
    """The parts of a split archive read back to back as one stream."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._files: Iterator[Path] = iter(paths)
        self._fh = open(next(self._files), "rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while True:
            n = self._fh.readinto(buffer)
            if n:
                return n
            self._fh.close()
            nxt = next(self._files, None)
            if nxt is None:
                return 0
            self._fh = open(nxt, "rb")

    def close(self) -> None:
        self._fh.close()
        super().close()


def _extract_tar(parts: list[Path], root: Path, mode: str, strip: int, budget: _Budget) -> int:
    written = 0
    stream = io.BufferedReader(_Concat(parts), buffer_size=1 << 20)
    try:
        with tarfile.open(fileobj=stream, mode=mode) as tar:
            for member in tar:
                if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
                    raise UnsafeArchiveError(f"{parts[0]}: member {member.name!r} is a device or FIFO; refused")
                dest = member_destination(root, member.name, parts[0], strip)
                if dest is None:
                    continue
                if member.isfile():
                    budget.take(member.size, member.name)
                if member.issym():
                    _check_link(root, dest, member.linkname, member.name, parts[0])
                elif member.islnk():
                    # Hard links name another member by its archive path.
                    if member_destination(root, member.linkname, parts[0], strip) is None:
                        raise UnsafeArchiveError(f"{parts[0]}: hard link {member.name!r} has no target; refused")
                member.name = str(dest.relative_to(root))
                if member.islnk():
                    member.linkname = str(member_destination(root, member.linkname, parts[0], strip).relative_to(root))
                # The stdlib's "data" filter is a second guard (modes, owners, anything we missed).
                tar.extract(member, root, filter="data")
                written += 1
    except tarfile.TarError as exc:
        raise UnsafeArchiveError(f"{parts[0]}: not a readable tar archive: {exc}") from None
    finally:
        stream.close()
    return written


def _extract_zip(path: Path, root: Path, strip: int, budget: _Budget) -> int:
    written = 0
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UnsafeArchiveError(f"{path}: not a readable zip archive: {exc}") from None
    with zf:
        infos = zf.infolist()
        declared = _Budget(budget.archive, budget.archive_bytes, budget.limits)
        for info in infos:  # check everything before writing anything
            member_destination(root, info.filename, path, strip)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchiveError(f"{path}: member {info.filename!r} is a symlink; links in zip archives "
                                         "are refused")
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise UnsafeArchiveError(f"{path}: member {info.filename!r} is a device or FIFO; refused")
            if not info.is_dir():
                declared.take(info.file_size, info.filename)
        for info in infos:
            dest = member_destination(root, info.filename, path, strip)  # again: resolved after earlier writes
            if dest is None:
                continue
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            _copy_member(zf, info, dest, budget)
            written += 1
    return written


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, budget: _Budget) -> None:
    """Write one member as a new regular file; a link already at ``dest`` is replaced, never followed."""
    if dest.is_symlink():
        dest.unlink()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        with zf.open(info) as src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(1 << 20):
                budget.take(len(chunk), info.filename)  # counted as decompressed: headers can lie
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def _extract_7z(path: Path, root: Path, strip: int, budget: _Budget) -> int:
    import py7zr

    try:
        with py7zr.SevenZipFile(path, "r") as archive:
            infos = archive.list()
            for info in infos:
                member_destination(root, info.filename, path, strip)
                if info.is_symlink:
                    # py7zr cannot show the link target before extracting: refuse links outright.
                    raise UnsafeArchiveError(f"{path}: member {info.filename!r} is a symlink; refused in 7z")
                if not info.is_directory:
                    budget.take(info.uncompressed or 0, info.filename)  # py7zr checks sizes and CRCs on write
            if strip:
                raise UnsafeArchiveError(f"{path}: strip_components is not supported for 7z")
            archive.extractall(path=root)
    except py7zr.exceptions.ArchiveError as exc:
        raise UnsafeArchiveError(f"{path}: not a readable 7z archive: {exc}") from None
    return sum(1 for info in infos if not info.is_directory)
