"""HTTP(S) download of one file: resume through Range, retries with backoff, sha256 check, atomic finish.

Partial data lives in ``<dest>.part``, with ``<dest>.part.json`` saying which URL (and ETag / Last-Modified)
it came from, so an interrupted run resumes from the byte where it stopped (``If-Range``: a changed file
restarts from zero). A ``.part`` without that record, or from another URL, is never resumed: its bytes are
not ours. The file appears under its final name only once verified: by the manifest's sha256, by a known size
(manifest, ``Content-Length`` or ``Content-Range``), or by chunked framing that reached its end. A mismatch is
moved to ``<dest>.bad``; a body with no way to tell a cut connection from the end (no length, no sha256) is
kept as ``<dest>.unverified`` and reported as unverified, never as complete.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from onellm_data.download.errors import ChecksumError, DownloadError, UnverifiedError

CHUNK = 1 << 20
# Worth another try: the server or the network may recover. Other 4xx (404, 403...) will not.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "onellm-data/0.1 (+https://github.com/csuhan/OneLLM data toolkit)"

Progress = Callable[[int, int | None], None]  # (bytes done, total or None)


@dataclass(frozen=True)
class HttpResult:
    path: Path
    size: int
    sha256: str
    resumed_from: int
    attempts: int
    verified_by: str  # "sha256", "size" or "chunked" (framing reached its end)


class _Transient(Exception):
    """Internal: this attempt failed in a way a retry may fix."""


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def part_record_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part.json")


def bad_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".bad")


def unverified_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".unverified")


def _own_part(url: str, dest: Path) -> tuple[int, dict]:
    """(bytes to resume from, validators) of ``dest``'s ``.part`` if this tool wrote it for ``url``; any other
    ``.part`` (stale, foreign, garbage) is deleted, since resuming would keep bytes nobody verified."""
    part, record = part_path(dest), part_record_path(dest)
    if part.exists():
        try:
            info = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = None
        if isinstance(info, dict) and info.get("url") == url:
            return part.stat().st_size, info
        part.unlink()
    record.unlink(missing_ok=True)
    return 0, {}


def _drop_part(dest: Path) -> None:
    part_path(dest).unlink(missing_ok=True)
    part_record_path(dest).unlink(missing_ok=True)


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, None)
    return digest.hexdigest()


def download_url(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    max_backoff: float = 60.0,
    timeout: float = 60.0,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> HttpResult:
    """Fetch ``url`` into ``dest``; resume a previous ``.part``; retry transient failures ``retries`` times."""
    dest = Path(dest)
    part = part_path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(url, dest.parent, exc) from None
    resumed_from = _own_part(url, dest)[0]
    attempt = 0
    while True:
        attempt += 1
        try:
            total, framed = _fetch_once(url, dest, timeout, progress)
            break
        except _Transient as exc:
            if attempt > retries:
                kept = part.stat().st_size if part.exists() else 0
                tail = (f"{kept} bytes kept in {part}; run again to resume" if kept
                        else "nothing was written; run again to retry")
                raise DownloadError(f"{url}: giving up after {attempt} attempts: {exc.args[0]} ({tail})") from None
            sleep(min(max_backoff, backoff * 2 ** (attempt - 1)))
    return _finish(url, dest, total, framed, sha256, size, resumed_from, attempt)


def _fetch_once(url: str, dest: Path, timeout: float, progress: Progress | None) -> tuple[int | None, bool]:
    """One request, appending to our ``.part`` from its current length. Returns the full size if the server
    said, and whether chunked framing marked the end of the body."""
    part = part_path(dest)
    offset, info = _own_part(url, dest)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        etag = info.get("etag")
        validator = etag if etag and not etag.startswith("W/") else info.get("last_modified")
        if validator:  # the server sends the whole file instead if it changed since the .part began
            headers["If-Range"] = validator
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            # Range past the end: the part may already be whole; if the server says how big, trust that.
            total = _total_from_content_range(exc.headers.get("Content-Range"))
            if total == offset:
                return total, False
            _drop_part(dest)
            raise _Transient("416 Range Not Satisfiable; restarting from zero") from None
        if exc.code in RETRY_STATUS:
            raise _Transient(f"HTTP {exc.code} {exc.reason}") from None
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _Transient(f"connection failed: {_reason(exc)}") from None
    with response:
        if offset and response.status == 206:
            start = _start_from_content_range(response.headers.get("Content-Range"))
            etag = response.headers.get("ETag")
            if start != offset or (etag and info.get("etag") and etag != info["etag"]):
                _drop_part(dest)
                raise _Transient(f"server resumed at byte {start} of version {etag}, not {offset} of "
                                 f"{info.get('etag')}; restarting from zero")
            mode, done = "ab", offset
            total = _total_from_content_range(response.headers.get("Content-Range"))
        else:
            # 200 to a Range request: the server ignores Range, so start the file again cleanly.
            mode, done = "wb", 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            record = {"url": url, "etag": response.headers.get("ETag"),
                      "last_modified": response.headers.get("Last-Modified")}
            try:  # a torn record reads as invalid JSON, which only costs a restart from zero
                part_record_path(dest).write_text(json.dumps(record), encoding="utf-8")
            except OSError as exc:
                raise _os_error(url, part_record_path(dest), exc) from None
        framed = bool(getattr(response, "chunked", False))  # http.client raises if a chunked body is cut
        try:
            with open(part, mode) as fh:
                while True:
                    try:
                        chunk = response.read(CHUNK)
                    except (OSError, http.client.HTTPException) as exc:
                        raise _Transient(f"connection lost at byte {done}: {_reason(exc)}") from None
                    if not chunk:
                        break
                    fh.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise _os_error(url, part, exc) from None
    if total is not None and done < total:
        raise _Transient(f"connection closed at byte {done} of {total}")
    return total, framed


def _finish(url: str, dest: Path, total: int | None, framed: bool, sha256: str | None, size: int | None,
            resumed_from: int, attempts: int) -> HttpResult:
    part = part_path(dest)
    got = part.stat().st_size
    digest = sha256_file(part)
    expected_size = size if size is not None else total
    problem = None
    if expected_size is not None and got != expected_size:
        problem = f"size {got} bytes, expected {expected_size}"
    elif sha256 is not None and digest != sha256.lower():
        problem = f"sha256 {digest}, expected {sha256}"
    if problem:
        os.replace(part, bad_path(dest))
        _drop_part(dest)
        raise ChecksumError(f"{url}: {problem}; the data was kept aside as {bad_path(dest)} "
                            f"and not marked complete (delete it to retry)")
    verified_by = ("sha256" if sha256 is not None else "size" if expected_size is not None
                   else "chunked" if framed else None)
    if verified_by is None:
        os.replace(part, unverified_path(dest))
        _drop_part(dest)
        raise UnverifiedError(f"{url}: unverified: the server sent no length (no Content-Length, not chunked) "
                              f"and the manifest pins neither size nor sha256, so a cut connection cannot be told "
                              f"from the end; the {got} bytes received are kept as {unverified_path(dest)} and "
                              f"not marked complete (add size or sha256 to the manifest, or check the file and "
                              f"rename it to {dest.name})")
    os.replace(part, dest)
    _drop_part(dest)
    return HttpResult(dest, got, digest, resumed_from, attempts, verified_by)


def _start_from_content_range(value: str | None) -> int | None:
    # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0]) if value else None
    except (IndexError, ValueError):
        return None


def _total_from_content_range(value: str | None) -> int | None:
    try:
        tail = value.rsplit("/", 1)[1] if value else "*"
        return None if tail == "*" else int(tail)
    except (IndexError, ValueError):
        return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return str(exc.reason)
    if isinstance(exc, socket.timeout):
        return "timed out"
    return str(exc) or type(exc).__name__


def _os_error(url: str, where: Path, exc: OSError) -> DownloadError:
    if exc.errno == errno.ENOSPC:
        return DownloadError(f"{url}: no space left on the device holding {where}; free space and run again "
                             f"(partial data is kept and resumes)")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DownloadError(f"{url}: cannot write {where}: {exc.strerror} (read-only or no permission)")
    return DownloadError(f"{url}: cannot write {where}: {exc}")
