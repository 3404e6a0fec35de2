"""Hugging Face Hub files through huggingface_hub (its own resume, cache and retries).

The file lands in the Hub cache (``cache_dir``), then is hard-linked (or copied) to its place in the
source folder. Hub ETags of LFS files are their sha256, so even files whose checksum no paper published are
verified against what the Hub stores.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from onellm_data.download.errors import ChecksumError, DownloadError
from onellm_data.download.http import Progress, bad_path, part_path, sha256_file
from onellm_data.manifests import HfFile


@dataclass(frozen=True)
class HfResult:
    path: Path
    size: int
    sha256: str
    etag: str | None


def _tqdm_forwarding(progress: Progress | None) -> type | None:
    """A tqdm class that reports to ``progress`` instead of drawing its own bar."""
    if progress is None:
        return None
    from tqdm.auto import tqdm

    class Forward(tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003
            kwargs["file"] = io.StringIO()
            super().__init__(*args, **kwargs)

        def update(self, n=1):  # noqa: ANN001, ANN202
            out = super().update(n)
            progress(int(self.n), int(self.total) if self.total else None)
            return out

    return Forward


def _hub_error(hf: HfFile, exc: Exception) -> DownloadError:
    return DownloadError(f"hf://{hf.repo_type}s/{hf.repo}@{hf.revision}/{hf.file or hf.pattern}: "
                         f"{type(exc).__name__}: {exc}")


def download_hf_file(hf: HfFile, dest: Path, *, cache_dir: Path, sha256: str | None = None,
                     endpoint: str | None = None, progress: Progress | None = None) -> HfResult:
    """Fetch one Hub file into ``dest``; verify against ``sha256`` or, failing that, the Hub's LFS ETag."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    assert hf.file is not None
    dest = Path(dest)
    try:
        url = hf_hub_url(hf.repo, hf.file, repo_type=hf.repo_type, revision=hf.revision, endpoint=endpoint)
        etag = get_hf_file_metadata(url).etag
        cached = hf_hub_download(hf.repo, hf.file, repo_type=hf.repo_type, revision=hf.revision,
                                 cache_dir=str(cache_dir), endpoint=endpoint,
                                 tqdm_class=_tqdm_forwarding(progress))
    except Exception as exc:  # huggingface_hub raises many types (HTTP, offline, repo not found...)
        raise _hub_error(hf, exc) from None
    blob = Path(os.path.realpath(cached))
    digest = sha256_file(blob)
    lfs_sha = etag if etag and len(etag) == 64 and all(c in "0123456789abcdef" for c in etag) else None
    expected = sha256 or lfs_sha
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(dest)
    if tmp.exists():
        tmp.unlink()
    try:
        os.link(blob, tmp)
    except OSError:
        shutil.copyfile(blob, tmp)  # other filesystem, or links not allowed
    if expected is not None and digest != expected.lower():
        os.replace(tmp, bad_path(dest))
        raise ChecksumError(f"hf://{hf.repo}/{hf.file}: sha256 {digest}, expected {expected}; kept aside as "
                            f"{bad_path(dest)} and not marked complete")
    os.replace(tmp, dest)
    return HfResult(dest, dest.stat().st_size, digest, etag)


def download_hf_pattern(hf: HfFile, dest_dir: Path, *, endpoint: str | None = None,
                        on_done: Callable[[], None] | None = None) -> Path:
    """Fetch every file of a repository matching ``hf.pattern`` into ``dest_dir`` (Hub layout kept)."""
    from huggingface_hub import snapshot_download

    assert hf.pattern is not None
    try:
        snapshot_download(hf.repo, repo_type=hf.repo_type, revision=hf.revision, allow_patterns=[hf.pattern],
                          local_dir=str(dest_dir), endpoint=endpoint)
    except Exception as exc:
        raise _hub_error(hf, exc) from None
    if on_done:
        on_done()
    return dest_dir
