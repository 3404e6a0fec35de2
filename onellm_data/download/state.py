"""Per-source state file and local status: what is on disk, what was verified, what was extracted.

``<root>/<source>/.onellm-download.json`` records, per file, the size, mtime and sha256 seen when it was
verified. A file whose size or mtime changed since is no longer ``verified`` (it is re-hashed next time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onellm_data.download.http import part_path, unverified_path
from onellm_data.manifests import FileSpec, Manifest
from onellm_data.shards.atomic import write_bytes_atomic

STATE_NAME = ".onellm-download.json"
# Ordered from worst to best; a source's status is the worst of its required files.
STATUSES = ("missing", "partial", "complete", "verified")


def source_dir(root: Path, manifest: Manifest) -> Path:
    return Path(root) / manifest.name


class SourceState:
    """The state file of one source; thread-safe use is the caller's job (one writer per source)."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / STATE_NAME
        self.data: dict[str, Any] = {"version": 1, "files": {}, "extracted": {}}
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict) and loaded.get("version") == 1:
                    self.data.update(loaded)
            except (OSError, json.JSONDecodeError):
                pass  # a damaged state only costs a re-verification

    def record(self, rel: str, sha256: str | None, **extra: Any) -> None:
        path = self.path.parent / rel
        st = path.stat()
        self.data["files"][rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256, **extra}

    def forget(self, rel: str) -> None:
        self.data["files"].pop(rel, None)
        self.data["extracted"].pop(rel, None)

    def is_verified(self, rel: str) -> bool:
        entry = self.data["files"].get(rel)
        if not entry:
            return False
        path = self.path.parent / rel
        try:
            st = path.stat()
        except OSError:
            return False
        if path.is_dir():
            return True
        return st.st_size == entry.get("size") and st.st_mtime_ns == entry.get("mtime_ns")

    def sha256(self, rel: str) -> str | None:
        return (self.data["files"].get(rel) or {}).get("sha256")

    def mark_extracted(self, rel: str, members: int) -> None:
        self.data["extracted"][rel] = {"members": members}

    def is_extracted(self, rel: str) -> bool:
        return rel in self.data["extracted"] and self.is_verified(rel)

    def save(self) -> None:
        write_bytes_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode())


def count_files(directory: Path, pattern: str | None) -> int:
    if not directory.is_dir():
        return 0
    return sum(1 for p in directory.glob(pattern or "*") if p.is_file() and p.name != STATE_NAME)


def file_status(directory: Path, spec: FileSpec, state: SourceState) -> str:
    """missing / partial / complete / verified for one manifest entry."""
    path = directory / spec.path
    if spec.is_dir:
        n = count_files(path, spec.glob)
        if n == 0:
            return "missing"
        if n < (spec.min_files or 1):
            return "partial"
        return "verified" if state.is_verified(spec.path) else "complete"
    if not path.is_file():
        return "partial" if part_path(path).exists() or unverified_path(path).exists() else "missing"
    if state.is_verified(spec.path):
        return "verified"
    if spec.size is not None and path.stat().st_size != spec.size:
        return "partial"
    return "complete"


@dataclass(frozen=True)
class LocalStatus:
    status: str
    files: dict[str, str]


def local_status(root: Path, manifest: Manifest) -> LocalStatus:
    directory = source_dir(root, manifest)
    state = SourceState(directory)
    files = {spec.path: file_status(directory, spec, state) for spec in manifest.files}
    required = [files[s.path] for s in manifest.files if s.required] or list(files.values())
    if all(s == "missing" for s in required):
        status = "missing"
    else:
        worst = min(required, key=STATUSES.index)
        status = "partial" if worst == "missing" else worst
    return LocalStatus(status, files)
