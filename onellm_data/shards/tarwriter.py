"""A byte-reproducible POSIX (ustar) tar writer with a streaming sha256.

Headers are fixed (mtime 0, uid/gid 0, empty owner names, mode 0644, regular files), so the same members in
the same order always give the same bytes. The file is written under a temporary name and only renamed into
place by ``commit()`` after an fsync: a crash leaves a temporary file, never a half-written shard that looks
whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
from pathlib import Path
from typing import Any

from onellm_data.shards.atomic import commit, disk_error, tmp_path_for

BLOCK = tarfile.BLOCKSIZE  # 512
RECORD = tarfile.RECORDSIZE  # 10240: GNU tar pads archives to whole records
_ZEROS = bytes(RECORD)


def member_span(size: Any) -> Any:
    """Bytes a member with ``size`` data bytes occupies in the tar: its header plus the data padded to a block.
    Takes an int or a numpy integer array, so the writer, the shard splitter and the loader share one formula."""
    return BLOCK + (size + BLOCK - 1) // BLOCK * BLOCK


def member_name(key: str, ext: str) -> str:
    """``{key}.{ext}``: WebDataset groups members by the part before the first dot."""
    return f"{key}.{ext}"


def _reference_header(name: str, size: int) -> bytes:
    """The header Python's tarfile writes for our fixed fields (the spec our fast path must match)."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="ascii", errors="strict")


# Fast path: every field but name, size and checksum is constant, so the header is a template plus three
# splices, and the checksum is the template's byte sum plus that of the spliced bytes.
_TEMPLATE = bytearray(_reference_header("", 0))
_TEMPLATE[0:100] = bytes(100)
_TEMPLATE[124:136] = bytes(12)
_TEMPLATE[148:156] = b" " * 8
_TEMPLATE_SUM = sum(_TEMPLATE)
_TEMPLATE = bytes(_TEMPLATE)
MAX_NAME = 100


def _header(name: str, size: int) -> bytes:
    raw = name.encode("ascii")
    if len(raw) > MAX_NAME:
        raise ValueError(f"tar member name longer than {MAX_NAME} bytes: {name!r}")
    size_field = b"%011o\0" % size
    chksum = _TEMPLATE_SUM + sum(raw) + sum(size_field)
    return b"".join(
        (raw, bytes(100 - len(raw)), _TEMPLATE[100:124], size_field, _TEMPLATE[136:148],
         b"%06o\0 " % chksum, _TEMPLATE[156:])
    )


class TarShardWriter:
    """Writes one shard. Use ``add`` for each member, then ``commit`` (or ``abort`` on failure)."""

    def __init__(self, path: Path, buffer_size: int = 1 << 20) -> None:
        self.path = path
        self.tmp = tmp_path_for(path)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.count = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.tmp, "wb", buffering=buffer_size)
        except OSError as exc:
            raise disk_error(path, exc) from exc

    def _write(self, data: bytes | memoryview) -> None:
        try:
            self._fh.write(data)
        except OSError as exc:
            self.abort()
            raise disk_error(self.path, exc) from exc
        self.sha256.update(data)
        self.size += len(data)

    def add(self, name: str, data: bytes) -> int:
        """Append one member; returns the byte offset of its header in the tar."""
        offset = self.size
        self._write(b"".join((_header(name, len(data)), data, _ZEROS[: -len(data) % BLOCK])))
        return offset

    def add_sample(self, key: str, members: dict[str, bytes]) -> int:
        """Append a sample's members in a fixed order (``json`` first, then by name); returns its offset."""
        offset = self.size
        for ext in sorted(members, key=lambda e: (e != "json", e)):
            self.add(member_name(key, ext), members[ext])
        self.count += 1
        return offset

    def commit(self) -> str:
        """Finish the archive, fsync, rename into place; returns the sha256 hex digest."""
        end = self.size + 2 * BLOCK
        self._write(_ZEROS[: 2 * BLOCK + (-end % RECORD)])
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        except OSError as exc:
            self.abort()
            raise disk_error(self.path, exc) from exc
        commit(self.tmp, self.path)
        return self.sha256.hexdigest()

    def abort(self) -> None:
        """Close and delete the temporary file; the final name is never touched."""
        with contextlib.suppress(OSError):
            self._fh.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()
