"""The ``sources`` and ``download`` commands end to end (no network: gated sources and --check only)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.manifests import load_manifests


def test_sources_lists_every_manifest_with_status(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sources", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in load_manifests():
        assert name in result.output
    assert "gated" in result.output and "missing" in result.output


def test_download_gated_prints_instructions_then_check_verifies(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["download", "nsd_fmri", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Data Access Agreement" in result.output and f"{tmp_path}/nsd_fmri" in result.output
    failed = runner.invoke(app, ["download", "nsd_fmri", "--root", str(tmp_path), "--check"])
    assert failed.exit_code == 1 and "missing" in failed.output
    raw = tmp_path / "nsd_fmri"
    for split in ("train", "val"):
        (raw / "webdataset_avg_split" / split).mkdir(parents=True)
        (raw / "webdataset_avg_split" / split / f"{split}_subj01_0.tar").write_bytes(b"tar")
    (raw / "COCO_73k_annots_curated.npy").write_bytes(b"npy")
    ok = runner.invoke(app, ["download", "nsd_fmri", "--root", str(tmp_path), "--check"])
    assert ok.exit_code == 0, ok.output
    listing = runner.invoke(app, ["sources", "--root", str(tmp_path)])
    row = next(line for line in listing.output.splitlines() if line.split("│")[1:2] == [" nsd_fmri "] or
               " nsd_fmri " in line and "nsd_fmri_align" not in line)
    assert "verified" in row


def test_download_unknown_source_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["download", "no_such_source", "--root", str(tmp_path)])
    assert result.exit_code != 0 and "unknown source" in result.output
