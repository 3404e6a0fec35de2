"""Download and check whole sources: parallel file fetches with progress bars, extraction, state, skip.

One failing file never stops the others: every file gets an ``Outcome`` and the caller reports them all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn,
                           TransferSpeedColumn)

from onellm_data.download.errors import ChecksumError, DownloadError, UnsafeArchiveError, UnverifiedError
from onellm_data.download.extract import ExtractLimits, safe_extract
from onellm_data.download.hf import download_hf_file, download_hf_pattern
from onellm_data.download.http import download_url, sha256_file
from onellm_data.download.plain_progress import PlainProgress
from onellm_data.download.state import SourceState, count_files, source_dir
from onellm_data.manifests import FileSpec, Manifest

HF_CACHE = ".hf-cache"


@dataclass(frozen=True)
class Outcome:
    source: str
    path: str
    status: str  # downloaded | skipped | extracted | verified | unverified | failed | missing
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in ("failed", "missing", "unverified")


@dataclass
class FetchOptions:
    root: Path
    jobs: int = 4
    retries: int = 5
    backoff: float = 1.0
    timeout: float = 60.0
    hf_endpoint: str | None = None
    include_optional: bool = False
    extract_limits: ExtractLimits = field(default_factory=ExtractLimits)


class _Sources:
    """State objects shared by worker threads, one lock per source."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.states: dict[str, SourceState] = {}
        self.locks: dict[str, threading.Lock] = {}

    def state(self, manifest: Manifest) -> tuple[SourceState, threading.Lock]:
        if manifest.name not in self.states:
            self.states[manifest.name] = SourceState(source_dir(self.root, manifest))
            self.locks[manifest.name] = threading.Lock()
        return self.states[manifest.name], self.locks[manifest.name]


def _fetch_file(manifest: Manifest, spec: FileSpec, opts: FetchOptions, sources: _Sources,
                bar: Progress | PlainProgress, task: TaskID) -> Outcome:
    directory = source_dir(opts.root, manifest)
    state, lock = sources.state(manifest)

    def progress(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=total)

    try:
        if spec.url is not None:
            result = download_url(spec.url, directory / spec.path, sha256=spec.sha256, size=spec.size,
                                  retries=opts.retries, backoff=opts.backoff, timeout=opts.timeout,
                                  progress=progress)
            digest, verified_by = result.sha256, result.verified_by
        elif spec.hf is not None and spec.hf.file is not None:
            digest = download_hf_file(spec.hf, directory / spec.path, cache_dir=opts.root / HF_CACHE,
                                      sha256=spec.sha256, endpoint=opts.hf_endpoint, progress=progress).sha256
            verified_by = "sha256" if spec.sha256 else "hub"  # the Hub client checks its own ETag / sha256
        else:
            assert spec.hf is not None
            download_hf_pattern(spec.hf, directory, endpoint=opts.hf_endpoint)
            digest, verified_by = None, "hub"
    except UnverifiedError as exc:
        bar.update(task, description=f"[yellow]? {manifest.name}/{spec.path}")
        return Outcome(manifest.name, spec.path, "unverified", str(exc))
    except (DownloadError, OSError) as exc:
        bar.update(task, description=f"[red]✗ {manifest.name}/{spec.path}")
        return Outcome(manifest.name, spec.path, "failed", str(exc))
    with lock:
        state.record(spec.path, digest, pinned=spec.sha256 is not None, verified_by=verified_by)
        state.save()
    bar.update(task, description=f"[green]✓ {manifest.name}/{spec.path}")
    return Outcome(manifest.name, spec.path, "downloaded", f"verified by {verified_by}")


def _extract(manifest: Manifest, spec: FileSpec, opts: FetchOptions, state: SourceState) -> Outcome:
    directory = source_dir(opts.root, manifest)
    if state.is_extracted(spec.path):
        return Outcome(manifest.name, spec.path, "skipped", "already extracted")
    parts = [directory / spec.path, *(directory / p for p in spec.extract_with)]
    target = directory / (spec.extract_to or Path(spec.path).parent.as_posix())
    try:
        members = safe_extract(parts, target, spec.extract, spec.strip_components, opts.extract_limits)
    except (UnsafeArchiveError, OSError) as exc:
        return Outcome(manifest.name, spec.path, "failed", f"extraction refused or failed: {exc}")
    state.mark_extracted(spec.path, members)
    state.save()
    return Outcome(manifest.name, spec.path, "extracted", f"{members} members into {target}")


def wanted(manifest: Manifest, include_optional: bool) -> list[FileSpec]:
    return [f for f in manifest.downloadable_files if f.required or include_optional]


def download_sources(manifests: Iterable[Manifest], opts: FetchOptions, console: Console | None = None) -> list[Outcome]:
    """Fetch every downloadable file of ``manifests`` (skipping verified ones), then extract archives."""
    manifests = list(manifests)
    sources = _Sources(opts.root)
    outcomes: list[Outcome] = []
    todo: list[tuple[Manifest, FileSpec]] = []
    for m in manifests:
        state, _ = sources.state(m)
        for spec in wanted(m, opts.include_optional):
            if state.is_verified(spec.path):
                outcomes.append(Outcome(m.name, spec.path, "skipped", "already complete and verified"))
            else:
                todo.append((m, spec))
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    console = console or Console(stderr=True)
    # Off a terminal rich draws its bars only at the end: plain lines keep a long download visibly alive.
    bars = Progress(*columns, console=console, transient=False) if console.is_terminal else PlainProgress(console)
    with bars as bar:
        with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            futures = [pool.submit(_fetch_file, m, spec, opts, sources, bar,
                                   bar.add_task(f"{m.name}/{spec.path}", total=spec.size))
                       for m, spec in todo]
            for future in as_completed(futures):
                outcomes.append(future.result())
    failed = {(o.source, o.path) for o in outcomes if not o.ok}
    for m in manifests:
        state, _ = sources.state(m)
        for spec in wanted(m, opts.include_optional):
            if spec.extract is None:
                continue
            parts = [spec.path, *spec.extract_with]
            if any((m.name, p) in failed for p in parts):
                outcomes.append(Outcome(m.name, spec.path, "failed", "not extracted: a part failed to download"))
                continue
            outcomes.append(_extract(m, spec, opts, state))
    return outcomes


def check_source(manifest: Manifest, root: Path) -> list[Outcome]:
    """Verify what is on disk for ``manifest`` (files the user placed included) and record it in the state."""
    directory = source_dir(root, manifest)
    state = SourceState(directory)
    outcomes = []
    for spec in manifest.files:
        path = directory / spec.path
        out = _check_one(manifest, spec, path, state)
        outcomes.append(out)
    state.save()
    return outcomes


def _check_one(manifest: Manifest, spec: FileSpec, path: Path, state: SourceState) -> Outcome:
    name = manifest.name
    if spec.is_dir:
        n = count_files(path, spec.glob)
        want = spec.min_files or 1
        if n < want:
            status = "missing" if spec.required else "skipped"
            return Outcome(name, spec.path, status, f"{n} file(s) matching {spec.glob or '*'} in {path}, need {want}")
        state.record(spec.path, None, files=n)
        return Outcome(name, spec.path, "verified", f"{n} files")
    if not path.is_file():
        status = "missing" if spec.required else "skipped"
        return Outcome(name, spec.path, status, f"not found: {path}")
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        state.forget(spec.path)
        return Outcome(name, spec.path, "failed", f"{path}: size {size} bytes, expected {spec.size}")
    digest = sha256_file(path)
    known = spec.sha256 or state.sha256(spec.path)
    if known is not None and digest != known:
        state.forget(spec.path)
        what = "published" if spec.sha256 else "recorded at download"
        return Outcome(name, spec.path, "failed", f"{path}: sha256 {digest} differs from the {what} {known}")
    state.record(spec.path, digest, pinned=spec.sha256 is not None)
    note = "sha256 matches the manifest" if spec.sha256 else f"sha256 {digest[:12]}… recorded (none published)"
    return Outcome(name, spec.path, "verified", note)


__all__ = ["ChecksumError", "FetchOptions", "Outcome", "check_source", "download_sources"]
