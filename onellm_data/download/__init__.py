"""Fetch the sources described by ``manifests/``: HTTP with resume, Hugging Face Hub files, safe extraction,
and a small state file per source so finished, verified work is skipped."""

from onellm_data.download.errors import ChecksumError, DownloadError, UnsafeArchiveError

__all__ = ["ChecksumError", "DownloadError", "UnsafeArchiveError"]
