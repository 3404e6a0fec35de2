"""Whole-source downloads: parallel fetch, one failure does not stop the rest, extraction, skip, --check."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

from onellm_data.download.fetch import FetchOptions, check_source, download_sources
from onellm_data.download.state import local_status
from onellm_data.manifests import Manifest, parse_manifest
from tests.download.conftest import FaultServer, Route


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("train2017/1.jpg", b"jpeg-bytes")
    return buf.getvalue()


ZIP = _zip_bytes()
JSON = b'[{"id": 1}]'


def _manifest(server: FaultServer, extra_files: list[dict] | None = None, zip_bytes: bytes = ZIP) -> Manifest:
    files = [
        {"path": "coco/train2017.zip", "url": server.url("/train2017.zip"),
         "sha256": hashlib.sha256(zip_bytes).hexdigest(),
         "extract": "zip", "extract_to": "coco/"},
        {"path": "ann.json", "url": server.url("/ann.json"), "sha256": None, "sha256_reason": "test",
         "size": len(JSON)},
        *(extra_files or []),
    ]
    data = {"name": "demo", "description": "d", "modalities": ["image"], "stages": ["instruction"],
            "converter": "demo", "homepage": "", "licence": "x", "gated": False,
            "expected_items": {"total": 1, "basis": "b"}, "files": files}
    return parse_manifest(data, Path("demo.yaml"))


def test_download_extracts_records_state_then_skips(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/train2017.zip"] = Route(ZIP)
    server.routes["/ann.json"] = Route(JSON, fail_times=1)
    m = _manifest(server)
    assert local_status(tmp_path, m).status == "missing"
    opts = FetchOptions(root=tmp_path, jobs=2, backoff=0.0)
    outcomes = download_sources([m], opts)
    assert sorted(o.status for o in outcomes) == ["downloaded", "downloaded", "extracted"]
    assert {o.path: o.message for o in outcomes if o.status == "downloaded"} == {
        "coco/train2017.zip": "verified by sha256", "ann.json": "verified by size"}
    assert (tmp_path / "demo/coco/train2017/1.jpg").read_bytes() == b"jpeg-bytes"
    assert local_status(tmp_path, m).status == "verified"
    requests = len(server.log)
    again = download_sources([m], opts)
    assert {o.status for o in again} == {"skipped"} and len(server.log) == requests


def test_a_404_fails_alone_and_others_complete(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/train2017.zip"] = Route(ZIP)
    server.routes["/ann.json"] = Route(JSON)
    m = _manifest(server, [{"path": "gone.json", "url": server.url("/gone.json"), "sha256": None,
                            "sha256_reason": "test"}])
    outcomes = {o.path: o for o in download_sources([m], FetchOptions(root=tmp_path, jobs=3, backoff=0.0))}
    assert outcomes["gone.json"].status == "failed" and "gone.json: HTTP 404" in outcomes["gone.json"].message
    assert outcomes["ann.json"].status == "downloaded"
    assert outcomes["coco/train2017.zip"].status == "extracted"
    assert local_status(tmp_path, m).status == "partial"


def test_sha_mismatch_is_not_complete_and_blocks_extraction(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/train2017.zip"] = Route(b"truncated or tampered")
    server.routes["/ann.json"] = Route(JSON)
    m = _manifest(server)
    outcomes = download_sources([m], FetchOptions(root=tmp_path, backoff=0.0))
    failed = [o for o in outcomes if o.status == "failed"]
    assert any("sha256" in o.message for o in failed)
    assert any("not extracted" in o.message for o in failed)
    assert not (tmp_path / "demo/coco/train2017.zip").exists()
    assert local_status(tmp_path, m).files["coco/train2017.zip"] == "missing"


def test_check_verifies_files_the_user_placed(tmp_path: Path) -> None:
    data = {"name": "gated", "description": "d", "modalities": ["fmri"], "stages": ["instruction"],
            "converter": "gated", "homepage": "", "licence": "x", "gated": True, "instructions": "place them",
            "expected_items": {"total": 1, "basis": "b"},
            "files": [{"path": "tars/", "manual": True, "min_files": 2, "glob": "*.tar"},
                      {"path": "annots.npy", "manual": True, "sha256": hashlib.sha256(b"ok").hexdigest()}]}
    m = parse_manifest(data, Path("gated.yaml"))
    out = {o.path: o.status for o in check_source(m, tmp_path)}
    assert out == {"tars/": "missing", "annots.npy": "missing"}
    (tmp_path / "gated/tars").mkdir(parents=True)
    (tmp_path / "gated/tars/a.tar").write_bytes(b"a")
    (tmp_path / "gated/annots.npy").write_bytes(b"not ok")
    out = {o.path: o.status for o in check_source(m, tmp_path)}
    assert out == {"tars/": "missing", "annots.npy": "failed"}
    assert local_status(tmp_path, m).status == "partial"
    (tmp_path / "gated/tars/b.tar").write_bytes(b"b")
    (tmp_path / "gated/annots.npy").write_bytes(b"ok")
    assert {o.status for o in check_source(m, tmp_path)} == {"verified"}
    assert local_status(tmp_path, m).status == "verified"
    # A file changed after verification is no longer reported verified.
    (tmp_path / "gated/annots.npy").write_bytes(b"ok!")
    assert local_status(tmp_path, m).status == "complete"


def test_extraction_cap_from_options_refuses_a_bomb(server: FaultServer, tmp_path: Path) -> None:
    from onellm_data.download.extract import ExtractLimits

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train2017/zeros.bin", bytes(2 << 20))
    bomb = buf.getvalue()
    server.routes["/train2017.zip"] = Route(bomb)
    server.routes["/ann.json"] = Route(JSON)
    m = _manifest(server, zip_bytes=bomb)
    opts = FetchOptions(root=tmp_path, backoff=0.0, extract_limits=ExtractLimits(max_ratio=10, ratio_floor_bytes=0))
    outcomes = {o.path: o for o in download_sources([m], opts)}
    assert outcomes["coco/train2017.zip"].status == "failed"
    assert "cap of" in outcomes["coco/train2017.zip"].message
    assert not (tmp_path / "demo/coco/train2017/zeros.bin").exists()


def test_unverified_download_is_reported_and_not_complete(server: FaultServer, tmp_path: Path) -> None:
    server.routes["/train2017.zip"] = Route(ZIP)
    server.routes["/ann.json"] = Route(JSON, framing="close", drop_after=4, drop_times=1)
    data = {"name": "demo", "description": "d", "modalities": ["image"], "stages": ["instruction"],
            "converter": "demo", "homepage": "", "licence": "x", "gated": False,
            "expected_items": {"total": 1, "basis": "b"},
            "files": [{"path": "ann.json", "url": server.url("/ann.json"), "sha256": None, "sha256_reason": "test"}]}
    m = parse_manifest(data, Path("demo.yaml"))
    outcomes = download_sources([m], FetchOptions(root=tmp_path, backoff=0.0))
    assert [(o.status, o.ok) for o in outcomes] == [("unverified", False)]
    assert "cut connection cannot be told from the end" in outcomes[0].message
    assert not (tmp_path / "demo/ann.json").exists()
    assert local_status(tmp_path, m).status == "partial"
    state = tmp_path / "demo/.onellm-download.json"
    assert not state.exists() or "ann.json" not in json.loads(state.read_text())["files"]


def _plain_run(server: FaultServer, tmp_path: Path, terminal: bool = False) -> list[str]:
    from rich.console import Console

    body = bytes(range(256)) * (3 * 4096 + 100)  # a little over 3 MiB: several progress calls
    server.routes["/big.bin"] = Route(body)
    files = [{"path": "big.bin", "url": server.url("/big.bin"), "sha256": hashlib.sha256(body).hexdigest()},
             {"path": "gone.json", "url": server.url("/gone.json"), "sha256": None, "sha256_reason": "test"}]
    data = {"name": "demo", "description": "d", "modalities": ["image"], "stages": ["instruction"],
            "converter": "demo", "homepage": "", "licence": "x", "gated": False,
            "expected_items": {"total": 1, "basis": "b"}, "files": files}
    out = io.StringIO()
    download_sources([parse_manifest(data, Path("demo.yaml"))], FetchOptions(root=tmp_path, jobs=1, backoff=0.0,
                                                                              retries=0),
                     Console(file=out, force_terminal=terminal, width=200))
    return out.getvalue().splitlines()


def test_off_a_terminal_progress_is_plain_lines(server: FaultServer, tmp_path: Path, monkeypatch) -> None:
    """CI logs and nohup files: each file's start, its progress as bytes arrive, and its outcome, as lines
    (rich would draw its bars only at the end)."""
    from onellm_data.download import plain_progress

    monkeypatch.setattr(plain_progress, "INTERVAL_S", 0.0)
    lines = _plain_run(server, tmp_path)
    progress = [line for line in lines if line.startswith("demo/big.bin: ")]
    assert len(progress) >= 3 and "of 3.2 MB" in progress[0] and "(100%)" in progress[-1]
    assert all(re.search(r", [\d.,]+ (B|kB|MB|GB)/s$", line) for line in progress)  # and the rate
    assert any(line.startswith("✓ demo/big.bin: 3.2 MB of 3.2 MB (100%)") for line in lines)
    assert any(line.startswith("✗ demo/gone.json") for line in lines)
    assert not any("[green]" in line or "[red]" in line for line in lines)


def test_plain_progress_lines_are_rate_limited(server: FaultServer, tmp_path: Path) -> None:
    lines = _plain_run(server, tmp_path)  # default interval: a fast file gives its first line and its outcome
    assert sum(line.startswith("demo/big.bin: ") for line in lines) == 1


def test_on_a_terminal_each_file_has_a_byte_bar_with_rate_and_time_left(server: FaultServer, tmp_path: Path) -> None:
    """rich's live bars: bytes done of total, rate and time left, per file."""
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", "\n".join(_plain_run(server, tmp_path, terminal=True)))
    assert re.search(r"^✓ demo/big\.bin +━+ 3\.2/3\.2 MB [\d.]+ (bytes|kB|MB|GB)/s \d+:\d\d:\d\d$", screen, re.M), screen
    assert re.search(r"^✗ demo/gone\.json ", screen, re.M)
