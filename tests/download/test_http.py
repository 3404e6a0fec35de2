"""download_url against a local server with faults: resume, retries, Range ignored, 404/500, bad sha."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from onellm_data.download.errors import ChecksumError, DownloadError, UnverifiedError
from onellm_data.download.http import bad_path, download_url, part_path, part_record_path, unverified_path
from tests.download.conftest import FaultServer, Route

BODY = os.urandom(300_000)
SHA = hashlib.sha256(BODY).hexdigest()
NO_SLEEP = {"sleep": lambda s: None}


def test_plain_download_checks_sha_and_renames(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY)
    dest = tmp_path / "sub" / "f.bin"
    result = download_url(server.url("/f.bin"), dest, sha256=SHA, **NO_SLEEP)
    assert dest.read_bytes() == BODY and result.sha256 == SHA and result.attempts == 1
    assert not part_path(dest).exists()


def test_dropped_connection_resumes_from_the_byte_it_stopped(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY, drop_after=100_000, drop_times=1)
    dest = tmp_path / "f.bin"
    # First run: no retries allowed, so it stops with the partial data kept.
    with pytest.raises(DownloadError, match="giving up after 1 attempts"):
        download_url(server.url("/f.bin"), dest, sha256=SHA, retries=0, **NO_SLEEP)
    assert not dest.exists() and part_path(dest).stat().st_size == 100_000
    # Next run resumes with a Range request from byte 100000, not from zero.
    result = download_url(server.url("/f.bin"), dest, sha256=SHA, **NO_SLEEP)
    assert dest.read_bytes() == BODY
    assert result.resumed_from == 100_000
    assert server.requests("/f.bin")[-1][2] == "bytes=100000-"


def test_drop_within_one_call_is_retried_and_resumed(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY, drop_after=50_000, drop_times=3)
    sleeps: list[float] = []
    result = download_url(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, backoff=0.5, sleep=sleeps.append)
    assert (tmp_path / "f.bin").read_bytes() == BODY and result.attempts == 4
    assert sleeps == [0.5, 1.0, 2.0]  # exponential backoff
    assert [r[2] for r in server.requests("/f.bin")] == [None, "bytes=50000-", "bytes=100000-", "bytes=150000-"]


def test_server_ignoring_range_restarts_cleanly(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY, ignore_range=True)
    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(BODY[:1000] + b"garbage")  # stale partial data
    download_url(server.url("/f.bin"), dest, sha256=SHA, **NO_SLEEP)
    assert dest.read_bytes() == BODY


def test_transient_500s_are_retried_then_succeed(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY, fail_times=2, fail_status=500)
    result = download_url(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, **NO_SLEEP)
    assert result.attempts == 3 and (tmp_path / "f.bin").read_bytes() == BODY


def test_persistent_500_gives_up_naming_the_url(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY, fail_times=99, fail_status=500)
    with pytest.raises(DownloadError) as err:
        download_url(server.url("/f.bin"), tmp_path / "f.bin", retries=2, **NO_SLEEP)
    assert server.url("/f.bin") in str(err.value) and "HTTP 500" in str(err.value)
    assert len(server.requests("/f.bin")) == 3


def test_404_is_not_retried_and_names_the_url(server: FaultServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        download_url(server.url("/nope.bin"), tmp_path / "nope.bin", **NO_SLEEP)
    assert f"{server.url('/nope.bin')}: HTTP 404" in str(err.value)
    assert len(server.requests("/nope.bin")) == 1
    assert not (tmp_path / "nope.bin").exists()


def test_sha_mismatch_keeps_bytes_aside_and_not_complete(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(b"wrong bytes" * 1000)
    dest = tmp_path / "f.bin"
    with pytest.raises(ChecksumError) as err:
        download_url(server.url("/f.bin"), dest, sha256=SHA, **NO_SLEEP)
    assert "sha256" in str(err.value) and SHA in str(err.value) and server.url("/f.bin") in str(err.value)
    assert not dest.exists() and not part_path(dest).exists()
    assert bad_path(dest).read_bytes() == b"wrong bytes" * 1000


def test_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="connection failed"):
        download_url(f"http://127.0.0.1:{port}/x", tmp_path / "x", retries=1, **NO_SLEEP)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_target_gives_a_clear_error(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(DownloadError, match="read-only or no permission"):
            download_url(server.url("/f.bin"), locked / "f.bin", **NO_SLEEP)
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("code, message", [(28, "no space left"), (30, "read-only or no permission")])
def test_full_or_read_only_disk_gives_a_clear_error(server: FaultServer, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, code: int, message: str) -> None:
    """ENOSPC / EROFS while writing the part file (simulated: the test may run as root on a roomy disk)."""
    import builtins

    server.routes["/f.bin"] = Route(BODY)
    real_open = builtins.open

    class FailingWrites:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(code, os.strerror(code))

    def fake_open(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        return FailingWrites(fh) if str(path).endswith(".part") else fh

    monkeypatch.setattr(builtins, "open", fake_open)
    with pytest.raises(DownloadError, match=message) as err:
        download_url(server.url("/f.bin"), tmp_path / "f.bin", **NO_SLEEP)
    assert server.url("/f.bin") in str(err.value)
    assert not (tmp_path / "f.bin").exists()
    assert len(server.requests("/f.bin")) == 1  # not retried: waiting will not free the disk


@pytest.mark.parametrize("cut", [True, False])
def test_body_without_length_is_unverified_never_complete(server: FaultServer, tmp_path: Path, cut: bool) -> None:
    """No Content-Length, no chunking, no sha256 or size pinned: a cut body looks exactly like a whole one."""
    server.routes["/f.bin"] = Route(BODY, framing="close", drop_after=100_000 if cut else None, drop_times=1)
    dest = tmp_path / "f.bin"
    with pytest.raises(UnverifiedError, match="unverified") as err:
        download_url(server.url("/f.bin"), dest, **NO_SLEEP)
    assert not dest.exists() and not part_path(dest).exists()
    assert unverified_path(dest).read_bytes() == (BODY[:100_000] if cut else BODY)
    assert str(unverified_path(dest)) in str(err.value)


def test_body_without_length_is_verified_by_a_pinned_size_or_sha(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY, framing="close", drop_after=100_000, drop_times=1)
    with pytest.raises(ChecksumError, match="size 100000 bytes, expected 300000"):
        download_url(server.url("/f.bin"), tmp_path / "a.bin", size=len(BODY), **NO_SLEEP)
    result = download_url(server.url("/f.bin"), tmp_path / "b.bin", sha256=SHA, **NO_SLEEP)
    assert result.verified_by == "sha256" and (tmp_path / "b.bin").read_bytes() == BODY


def test_chunked_body_is_verified_by_its_framing_and_a_cut_one_resumes(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY, framing="chunked", drop_after=70_000, drop_times=1)
    result = download_url(server.url("/f.bin"), tmp_path / "f.bin", **NO_SLEEP)
    assert (tmp_path / "f.bin").read_bytes() == BODY and result.verified_by == "chunked"
    assert result.attempts == 2  # the cut chunk raised (not taken for the end) and the retry completed


@pytest.mark.parametrize("record", [None, {"url": "http://elsewhere/f.bin"}, "{torn"])
def test_stale_part_not_written_for_this_url_is_never_resumed(server: FaultServer, tmp_path: Path,
                                                              record: object) -> None:
    """A garbage .part would otherwise be completed by a Range request and pass the size check."""
    import json

    server.routes["/f.bin"] = Route(BODY)
    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(b"garbage" * 1000)
    if record is not None:
        part_record_path(dest).write_text(record if isinstance(record, str) else json.dumps(record))
    result = download_url(server.url("/f.bin"), dest, **NO_SLEEP)
    assert dest.read_bytes() == BODY and result.verified_by == "size" and result.resumed_from == 0
    assert [r[2] for r in server.requests("/f.bin")] == [None]
    assert not part_record_path(dest).exists()


def test_resume_restarts_when_the_file_changed_on_the_server(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/f.bin"] = Route(BODY, drop_after=100_000, drop_times=1, headers={"ETag": '"v1"'})
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="100000 bytes kept in"):
        download_url(server.url("/f.bin"), dest, retries=0, **NO_SLEEP)
    new_body = os.urandom(300_000)
    server.routes["/f.bin"] = Route(new_body, headers={"ETag": '"v2"'})
    result = download_url(server.url("/f.bin"), dest, **NO_SLEEP)
    assert dest.read_bytes() == new_body and result.verified_by == "size"


def test_giving_up_before_any_byte_names_no_part_file(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError) as err:
        download_url(f"http://127.0.0.1:{port}/x", tmp_path / "x", retries=0, **NO_SLEEP)
    assert ".part" not in str(err.value) and "nothing was written" in str(err.value)
