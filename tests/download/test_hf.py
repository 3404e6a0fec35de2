"""Hub files through huggingface_hub itself, pointed at a local server that speaks the Hub's resolve API."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from onellm_data.download.errors import ChecksumError, DownloadError
from onellm_data.download.hf import download_hf_file
from onellm_data.manifests import HfFile
from tests.download.conftest import FaultServer, Route

COMMIT = "0123456789abcdef0123456789abcdef01234567"
BODY = b'[{"id": "1", "conversations": []}]' * 2000


def _hub_route(server: FaultServer, file: str, body: bytes, etag: str) -> None:
    server.routes[f"/datasets/csuhan/OneLLM_InstructionTuning/resolve/main/{file}"] = Route(
        body, headers={"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"'})


def test_hf_file_downloads_through_huggingface_hub_and_checks_lfs_sha(server: FaultServer, tmp_path: Path) -> None:
    sha = hashlib.sha256(BODY).hexdigest()
    _hub_route(server, "fmri/fmri_fixed_train.json", BODY, sha)
    hf = HfFile(repo="csuhan/OneLLM_InstructionTuning", file="fmri/fmri_fixed_train.json")
    dest = tmp_path / "nsd" / "onellm" / "fmri_fixed_train.json"
    result = download_hf_file(hf, dest, cache_dir=tmp_path / "cache", endpoint=server.base)
    assert dest.read_bytes() == BODY and result.sha256 == sha and result.etag == sha
    assert any(m == "GET" for m, _, _ in server.log)
    # The Hub cache holds the blob; a second call is served from it without another GET of the body.
    gets = sum(1 for m, _, _ in server.log if m == "GET")
    dest.unlink()
    download_hf_file(hf, dest, cache_dir=tmp_path / "cache", endpoint=server.base)
    assert dest.read_bytes() == BODY
    assert sum(1 for m, _, _ in server.log if m == "GET") == gets


def test_hf_lfs_sha_mismatch_is_kept_aside(server: FaultServer, tmp_path: Path) -> None:
    _hub_route(server, "a.json", BODY, "f" * 64)
    hf = HfFile(repo="csuhan/OneLLM_InstructionTuning", file="a.json")
    with pytest.raises(ChecksumError, match="expected f{64}"):
        download_hf_file(hf, tmp_path / "a.json", cache_dir=tmp_path / "cache", endpoint=server.base)
    assert not (tmp_path / "a.json").exists() and (tmp_path / "a.json.bad").read_bytes() == BODY


def test_hf_missing_file_names_the_repo_and_file(server: FaultServer, tmp_path: Path) -> None:
    hf = HfFile(repo="csuhan/OneLLM_InstructionTuning", file="nope.json")
    with pytest.raises(DownloadError, match="csuhan/OneLLM_InstructionTuning@main/nope.json"):
        download_hf_file(hf, tmp_path / "x.json", cache_dir=tmp_path / "cache", endpoint=server.base)
