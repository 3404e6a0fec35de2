"""Errors of the download side; each message names the URL or file it is about."""

from __future__ import annotations

from onellm_data.errors import OnellmDataError


class DownloadError(OnellmDataError):
    """A file could not be fetched (HTTP error, connection lost for good, disk full, read-only target...)."""


class ChecksumError(DownloadError):
    """The bytes arrived but their sha256 or size is not the published one; the data is kept aside."""


class UnverifiedError(DownloadError):
    """The bytes arrived but nothing can prove they are whole (no length, no checksum): kept, not complete."""


class UnsafeArchiveError(OnellmDataError):
    """An archive member would land outside the target (traversal, absolute path, link out) or is a device."""


class ArchiveTooLargeError(UnsafeArchiveError):
    """An archive that would expand past the configured size or ratio cap (a decompression bomb, or limits set
    too low for a trusted archive)."""
