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


def test_each_row_shows_the_manifests_modality_stage_count_and_access(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sources", "--root", str(tmp_path)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.split("│")[1:-1]]
                                          for line in result.output.splitlines() if line.startswith("│ "))
            if cells[0]}
    manifests = load_manifests()
    assert set(rows) == set(manifests)
    for name, m in manifests.items():
        _, modality, stage, count, _licence, access, local = rows[name]
        e = m.expected_items
        assert (modality, stage, access, local) == (",".join(m.modalities), ",".join(m.stages), m.access, "missing")
        assert count == ("-" if e.total is None else ("~" if e.approximate else "") + f"{e.total:,}"), name
    assert {m.access for m in manifests.values()} == {"downloadable", "partial", "manual", "gated"}


def test_every_gated_source_prints_what_to_obtain_and_where(tmp_path: Path) -> None:
    gated = sorted(name for name, m in load_manifests().items() if m.gated)
    assert {"ego4d_imu", "nsd_fmri", "laion", "webvid"} <= set(gated)
    for name in gated:
        result = CliRunner().invoke(app, ["download", name, "--root", str(tmp_path)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert f"{name} — GATED" in result.output and f"{tmp_path}/{name}" in result.output
        assert "--check" in result.output  # and how to check the files once placed
    assert not list(tmp_path.iterdir())  # nothing fetched for a gated source


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
    assert "ready" in row


def test_check_accepts_extracted_data_without_the_archives(tmp_path: Path) -> None:
    """What counts is what the converter reads: COCO without its zips, WebVid videos in data/2M_val/."""
    coco = tmp_path / "coco_captions"
    (coco / "annotations").mkdir(parents=True)
    (coco / "annotations" / "captions_train2017.json").write_text('{"images": [], "annotations": []}')
    (coco / "train2017").mkdir()
    (coco / "train2017" / "000000000001.jpg").write_bytes(b"jpg")
    webvid = tmp_path / "webvid"
    (webvid / "data" / "2M_val").mkdir(parents=True)
    (webvid / "results_2M_val.csv").write_text("videoid,name,page_idx,page_dir,duration,contentUrl\n")
    (webvid / "data" / "2M_val" / "1.mp4").write_bytes(b"mp4")
    runner = CliRunner()
    for name in ("coco_captions", "webvid"):
        result = runner.invoke(app, ["download", name, "--root", str(tmp_path), "--check"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "ready to convert" in result.output
    (webvid / "data" / "2M_val" / "1.mp4").unlink()  # no video anywhere the converter looks: not ready
    result = runner.invoke(app, ["download", "webvid", "--root", str(tmp_path), "--check"], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "missing downloaded videos" in result.output


def test_converted_sources_are_not_missing(tmp_path: Path) -> None:
    parts = tmp_path / "corpus" / "index" / "parts" / "cap3d"
    parts.mkdir(parents=True)
    (parts / "000000.commit.json").write_text("{}")
    result = CliRunner().invoke(app, ["sources", "--root", str(tmp_path / "raw"), "--corpus", str(tmp_path / "corpus")],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("│ cap3d "))
    assert "converted" in row and "missing" not in row


def test_download_unknown_source_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["download", "no_such_source", "--root", str(tmp_path)])
    assert result.exit_code != 0 and "unknown source" in result.output
