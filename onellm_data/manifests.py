"""Source manifests: one ``manifests/<source>.yaml`` per source, read into typed dataclasses.

A manifest says what a source is, where it is published, under which licence, whether it is gated, which
files make it up (URL or Hugging Face file, size and sha256 where published) and how many items to expect.
The dataclasses are the schema (read by ``onellm_data.typed_config``: unknown keys, wrong types and bad values
are refused), and every error names the file, the line and the key, so a broken manifest is fixed in one look.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from onellm_data.bundled import data_dir
from onellm_data.schema import MODALITIES
from onellm_data.typed_config import ConfigError, InvalidField, Reader, internal, load_yaml, setting

MANIFEST_DIR = data_dir("manifests")  # the checkout's manifests/, or the copy an installed wheel carries
# OneLLM's progressive alignment stages I-III and instruction tuning (onellm.md §4.1).
STAGES = ("alignment-1", "alignment-2", "alignment-3", "instruction")
ARCHIVE_KINDS = ("zip", "tar", "tar.gz", "7z")
SHA256_HEX = frozenset("0123456789abcdef")


class ManifestError(ConfigError):
    """A manifest file that does not match the schema; the message names the file, the line and the key."""


@dataclass(frozen=True)
class HfFile:
    """A file (``file``) or a set of files (``pattern``, glob) in a Hugging Face Hub repository."""

    repo: str = setting(nonempty=True)
    repo_type: str = setting("dataset", choices=("dataset", "model", "space"))
    revision: str = setting("main", nonempty=True)
    file: str | None = setting(None, nonempty=True)
    pattern: str | None = setting(None, nonempty=True)

    def __post_init__(self) -> None:
        if (self.file is None) == (self.pattern is None):
            raise ValueError("give exactly one of 'file' or 'pattern'")


@dataclass(frozen=True)
class FileSpec:
    """One file or folder of a source, relative to the source's raw directory ``<root>/<source>/``.

    Downloadable entries have ``url`` or ``hf``; ``manual`` entries are placed by the user (gated data) and
    checked by ``download --check``. A file ends with ``/`` when it is a folder (manual, or an HF pattern).
    """

    path: str = setting(nonempty=True)
    url: str | None = None
    hf: HfFile | None = None
    manual: bool = False
    size: int | None = setting(None, ge=0)
    approx_size: str | None = None
    sha256: str | None = None  # a file without one says why in sha256_reason
    sha256_reason: str | None = None
    extract: str | None = setting(None, choices=ARCHIVE_KINDS)
    extract_to: str | None = None
    extract_with: tuple[str, ...] = setting((), nonempty=True)
    strip_components: int = setting(0, ge=0, le=64)
    min_files: int | None = setting(None, ge=0)
    glob: str | None = None
    required: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if self.path.startswith("/") or ".." in Path(self.path).parts or not self.path.strip("/"):
            raise InvalidField("path", f"must be a relative path inside the source directory, got {self.path!r}")
        if sum(x is not None for x in (self.url, self.hf)) + self.manual != 1:
            raise ValueError("give exactly one of 'url', 'hf' or 'manual: true'")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise InvalidField("url", f"must be http(s), got {self.url!r}")
        if self.sha256 is None and not self.sha256_reason and not self.is_dir:
            raise InvalidField("sha256", "null needs a sha256_reason saying why it cannot be pinned")
        if self.sha256 is not None and (len(self.sha256) != 64 or not set(self.sha256) <= SHA256_HEX):
            raise InvalidField("sha256", f"must be 64 lowercase hex digits, got {self.sha256!r}")
        if self.manual and self.is_dir and self.min_files is None:
            raise InvalidField("min_files", "a manual folder needs min_files (how many files --check expects)")
        if self.extract_with and self.extract is None:
            raise InvalidField("extract_with", "only an archive (with 'extract') has other parts")

    @property
    def is_dir(self) -> bool:
        return self.path.endswith("/")

    @property
    def downloadable(self) -> bool:
        return not self.manual and (self.url is not None or self.hf is not None)


@dataclass(frozen=True)
class ExpectedItems:
    """How many items a source yields: ``total`` (None when it depends on the user's data) and why."""

    total: int | None = setting(ge=0)
    basis: str = setting(nonempty=True)
    approximate: bool = False
    by_modality: dict[str, int] = setting(default_factory=dict, keys=MODALITIES, ge=0)

    def __post_init__(self) -> None:
        counted = sum(self.by_modality.values())
        if self.by_modality and self.total is not None and counted != self.total:
            raise InvalidField("by_modality", f"counts sum to {counted}, total is {self.total}")


@dataclass(frozen=True, kw_only=True)
class Manifest:
    name: str = setting(nonempty=True)
    description: str = setting(nonempty=True)
    modalities: tuple[str, ...] = setting(choices=MODALITIES, nonempty=True)
    stages: tuple[str, ...] = setting(choices=STAGES, nonempty=True)
    converter: str = setting(nonempty=True)
    homepage: str = setting()
    published: tuple[str, ...] = ()
    licence: str = setting(nonempty=True)
    gated: bool = setting()
    expected_items: ExpectedItems = setting()
    files: tuple[FileSpec, ...] = setting(nonempty=True)
    instructions: str = ""
    paper: str = ""
    path: Path | None = internal(None)

    @property
    def downloadable_files(self) -> tuple[FileSpec, ...]:
        return tuple(f for f in self.files if f.downloadable)

    @property
    def manual_files(self) -> tuple[FileSpec, ...]:
        return tuple(f for f in self.files if not f.downloadable)

    @property
    def access(self) -> str:
        """``downloadable`` (every required file fetched by us), ``partial`` (some placed by hand), ``manual``
        (all placed by hand) or ``gated`` (licence-gated: follow the instructions)."""
        if self.gated:
            return "gated"
        if not self.downloadable_files:
            return "manual"
        return "partial" if any(f.required for f in self.manual_files) else "downloadable"


def parse_manifest(data: Any, source: Path, lines: dict[str, int] | None = None) -> Manifest:
    """Validate one manifest's parsed YAML; ``source`` (and ``lines``: key path → line) locate errors."""
    r = Reader(source, lines or {}, ManifestError)
    m = r.build(Manifest, data, "", path=source)
    m = dataclasses.replace(m, description=m.description.strip(), licence=" ".join(m.licence.split()),
                            instructions=m.instructions.strip(), paper=m.paper.strip())
    if source.suffix == ".yaml" and source.stem != m.name:
        raise r.error("name", f"must match the file name {source.stem!r}, got {m.name!r}")
    if (m.gated or m.manual_files) and not m.instructions:
        raise r.error("instructions", "gated sources and manual files need instructions for the user")
    paths = [f.path for f in m.files]
    for i, path in enumerate(paths):
        if path in paths[:i]:
            raise r.error(f"files[{i}].path", f"{path!r}: two entries share a path")
    for i, spec in enumerate(m.files):
        missing = [p for p in spec.extract_with if p not in paths]
        if missing:
            raise r.error(f"files[{i}].extract_with", f"must name other file entries of the archive, bad: {missing}")
    return m


def load_manifest(path: Path) -> Manifest:
    data, lines = load_yaml(path, ManifestError)
    return parse_manifest(data, path, lines)


def load_manifests(root: Path | None = None) -> dict[str, Manifest]:
    """Every ``*.yaml`` manifest under ``root`` (default: the repository's ``manifests/``), by source name."""
    directory = Path(root) if root is not None else MANIFEST_DIR
    if root is None:
        return dict(_load_default())
    return _load_dir(directory)


def _load_dir(directory: Path) -> dict[str, Manifest]:
    if not directory.is_dir():
        raise ManifestError(f"{directory}: no manifest directory")
    out = {}
    for path in sorted(directory.glob("*.yaml")):
        manifest = load_manifest(path)
        out[manifest.name] = manifest
    return out


@lru_cache(maxsize=1)
def _load_default() -> tuple[tuple[str, Manifest], ...]:
    return tuple(_load_dir(MANIFEST_DIR).items())


def expected_items(root: Path | None = None) -> dict[str, int]:
    """Expected item count per source name; sources whose size depends on the user's data are left out."""
    return {name: m.expected_items.total for name, m in load_manifests(root).items()
            if m.expected_items.total is not None}
