"""Source manifests: one ``manifests/<source>.yaml`` per source, read into typed dataclasses.

A manifest says what a source is, where it is published, under which licence, whether it is gated, which
files make it up (URL or Hugging Face file, size and sha256 where published) and how many items to expect.
Validation errors name the file and the key, so a broken manifest is fixed in one look.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from onellm_data.errors import OnellmDataError

MANIFEST_DIR = Path(__file__).resolve().parent.parent / "manifests"
MODALITIES = ("image", "video", "audio", "point", "depth", "normal", "imu", "fmri", "text")
# OneLLM's progressive alignment stages I-III and instruction tuning (onellm.md §4.1).
STAGES = ("alignment-1", "alignment-2", "alignment-3", "instruction")
ARCHIVE_KINDS = ("zip", "tar", "tar.gz", "7z")
SHA256_HEX = frozenset("0123456789abcdef")


class ManifestError(OnellmDataError):
    """A manifest file that does not match the schema; the message names the file and the key."""


@dataclass(frozen=True)
class HfFile:
    """A file (``file``) or a set of files (``pattern``, glob) in a Hugging Face Hub repository."""

    repo: str
    repo_type: str = "dataset"
    revision: str = "main"
    file: str | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class FileSpec:
    """One file or folder of a source, relative to the source's raw directory ``<root>/<source>/``.

    Downloadable entries have ``url`` or ``hf``; ``manual`` entries are placed by the user (gated data) and
    checked by ``download --check``. A file ends with ``/`` when it is a folder (manual, or an HF pattern).
    """

    path: str
    url: str | None = None
    hf: HfFile | None = None
    manual: bool = False
    size: int | None = None
    approx_size: str | None = None
    sha256: str | None = None
    sha256_reason: str | None = None
    extract: str | None = None
    extract_to: str | None = None
    extract_with: tuple[str, ...] = ()
    strip_components: int = 0
    min_files: int | None = None
    glob: str | None = None
    required: bool = True
    description: str = ""

    @property
    def is_dir(self) -> bool:
        return self.path.endswith("/")

    @property
    def downloadable(self) -> bool:
        return not self.manual and (self.url is not None or self.hf is not None)


@dataclass(frozen=True)
class ExpectedItems:
    """How many items a source yields: ``total`` (None when it depends on the user's data) and why."""

    total: int | None
    basis: str
    approximate: bool = False
    by_modality: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    name: str
    description: str
    modalities: tuple[str, ...]
    stages: tuple[str, ...]
    converter: str
    homepage: str
    published: tuple[str, ...]
    licence: str
    gated: bool
    expected_items: ExpectedItems
    files: tuple[FileSpec, ...]
    instructions: str = ""
    paper: str = ""
    path: Path | None = None

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


class _Reader:
    """Pops typed keys out of one mapping, naming ``file: key.path`` in every error."""

    def __init__(self, data: Any, where: str, source: Path) -> None:
        if not isinstance(data, dict):
            raise ManifestError(f"{source}: {where or 'top level'}: expected a mapping, got {type(data).__name__}")
        self.data = dict(data)
        self.where = where
        self.source = source

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, message: str) -> ManifestError:
        return ManifestError(f"{self.source}: {self.key(name)}: {message}")

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ..., nullable: bool = False) -> Any:
        if name not in self.data:
            if default is ...:
                raise self.fail(name, "missing required key")
            return default
        value = self.data.pop(name)
        if value is None and nullable:
            return None
        # bool is an int subclass; a size of ``true`` is a mistake, not 1.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(name, f"expected {expected}, got {value!r}")
        return value

    def str_list(self, name: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(name, (list, str), default)
        items = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(v, str) and v for v in items):
            raise self.fail(name, f"expected a list of non-empty strings, got {value!r}")
        return tuple(items)

    def done(self) -> None:
        if self.data:
            unknown = ", ".join(sorted(self.key(k) for k in self.data))
            raise ManifestError(f"{self.source}: unknown key(s): {unknown}")


def _hf(data: Any, where: str, source: Path) -> HfFile:
    r = _Reader(data, where, source)
    hf = HfFile(repo=r.get("repo", str), repo_type=r.get("repo_type", str, "dataset"),
                revision=r.get("revision", str, "main"), file=r.get("file", str, None),
                pattern=r.get("pattern", str, None))
    r.done()
    if (hf.file is None) == (hf.pattern is None):
        raise ManifestError(f"{source}: {where}: give exactly one of 'file' or 'pattern'")
    if hf.repo_type not in ("dataset", "model", "space"):
        raise r.fail("repo_type", f"must be dataset, model or space, got {hf.repo_type!r}")
    return hf


def _file(data: Any, where: str, source: Path) -> FileSpec:
    r = _Reader(data, where, source)
    path = r.get("path", str)
    if path.startswith("/") or ".." in Path(path).parts or not path.strip("/"):
        raise r.fail("path", f"must be a relative path inside the source directory, got {path!r}")
    hf_data = r.data.pop("hf", None)
    spec = FileSpec(
        path=path,
        url=r.get("url", str, None),
        hf=_hf(hf_data, r.key("hf"), source) if hf_data is not None else None,
        manual=r.get("manual", bool, False),
        size=r.get("size", int, None, nullable=True),
        approx_size=r.get("approx_size", str, None),
        # Folders have no single checksum; a file must say sha256 or why it has none.
        sha256=r.get("sha256", str, None if path.endswith("/") else ..., nullable=True),
        sha256_reason=r.get("sha256_reason", str, None),
        extract=r.get("extract", str, None),
        extract_to=r.get("extract_to", str, None),
        extract_with=r.str_list("extract_with", ()),
        strip_components=r.get("strip_components", int, 0),
        min_files=r.get("min_files", int, None),
        glob=r.get("glob", str, None),
        required=r.get("required", bool, True),
        description=r.get("description", str, ""),
    )
    r.done()
    sources = sum(x is not None for x in (spec.url, spec.hf)) + spec.manual
    if sources != 1:
        raise ManifestError(f"{source}: {where}: give exactly one of 'url', 'hf' or 'manual: true'")
    if spec.url is not None and not spec.url.startswith(("http://", "https://")):
        raise r.fail("url", f"must be http(s), got {spec.url!r}")
    if spec.sha256 is None and not spec.sha256_reason and not spec.is_dir:
        raise r.fail("sha256", "null needs a sha256_reason saying why it cannot be pinned")
    if spec.sha256 is not None and (len(spec.sha256) != 64 or not set(spec.sha256) <= SHA256_HEX):
        raise r.fail("sha256", f"must be 64 lowercase hex digits, got {spec.sha256!r}")
    if spec.extract is not None and spec.extract not in ARCHIVE_KINDS:
        raise r.fail("extract", f"must be one of {', '.join(ARCHIVE_KINDS)}, got {spec.extract!r}")
    if spec.manual and spec.is_dir and spec.min_files is None:
        raise r.fail("min_files", "a manual folder needs min_files (how many files --check expects)")
    return spec


def _expected(data: Any, where: str, source: Path) -> ExpectedItems:
    r = _Reader(data, where, source)
    out = ExpectedItems(total=r.get("total", int, ..., nullable=True), basis=r.get("basis", str),
                        approximate=r.get("approximate", bool, False),
                        by_modality=dict(r.get("by_modality", dict, {})))
    r.done()
    for modality, n in out.by_modality.items():
        if modality not in MODALITIES or not isinstance(n, int) or isinstance(n, bool):
            raise ManifestError(f"{source}: {where}.by_modality.{modality}: unknown modality or non-integer count")
    if out.by_modality and out.total is not None and sum(out.by_modality.values()) != out.total:
        raise ManifestError(f"{source}: {where}.by_modality: counts sum to {sum(out.by_modality.values())}, "
                            f"total is {out.total}")
    return out


def parse_manifest(data: Any, source: Path) -> Manifest:
    """Validate one manifest's parsed YAML; ``source`` is only used in error messages."""
    r = _Reader(data, "", source)
    files_data = r.get("files", list)
    expected_data = r.data.pop("expected_items", None)
    if expected_data is None:
        raise r.fail("expected_items", "missing required key")
    manifest = Manifest(
        name=r.get("name", str),
        description=r.get("description", str).strip(),
        modalities=r.str_list("modalities"),
        stages=r.str_list("stages"),
        converter=r.get("converter", str),
        homepage=r.get("homepage", str),
        published=r.str_list("published", ()),
        licence=" ".join(r.get("licence", str).split()),
        gated=r.get("gated", bool),
        expected_items=_expected(expected_data, "expected_items", source),
        files=tuple(_file(f, f"files[{i}]", source) for i, f in enumerate(files_data)),
        instructions=r.get("instructions", str, "").strip(),
        paper=r.get("paper", str, "").strip(),
        path=source,
    )
    r.done()
    if source.suffix == ".yaml" and source.stem != manifest.name:
        raise r.fail("name", f"must match the file name {source.stem!r}, got {manifest.name!r}")
    for key, values, allowed in (("modalities", manifest.modalities, MODALITIES), ("stages", manifest.stages, STAGES)):
        bad = [v for v in values if v not in allowed]
        if bad:
            raise r.fail(key, f"unknown value(s) {bad}; allowed: {', '.join(allowed)}")
    if (manifest.gated or manifest.manual_files) and not manifest.instructions:
        raise r.fail("instructions", "gated sources and manual files need instructions for the user")
    paths = [f.path for f in manifest.files]
    if len(set(paths)) != len(paths):
        raise r.fail("files", "two entries share a path")
    for i, spec in enumerate(manifest.files):
        missing = [p for p in spec.extract_with if p not in paths]
        if missing or (spec.extract_with and spec.extract is None):
            raise r.fail(f"files[{i}].extract_with", f"must name other file entries of an archive, bad: {missing}")
    return manifest


def load_manifest(path: Path) -> Manifest:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from None
    return parse_manifest(data, path)


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
