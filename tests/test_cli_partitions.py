"""README's partitioned workflow, through the command line: `convert --partition i/n` on each "machine", then
`index merge` and `verify`, gives the shards and index of one uninterrupted run, byte for byte."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from onellm_data.cli import app
from tests.conftest import write_jsonl_source


def _tree(root: Path) -> dict[str, bytes]:
    paths = [*root.glob("*/*/*.tar"), *(root / "index").glob("*.parquet")]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(paths)}


def _cli(*args: object) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_partitions_then_index_merge_equal_one_run(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_jsonl_source(raw, n_images=9, n_text=3, bad=False)
    common = ("jsonl", "--raw", raw, "--name", "demo", "-j", "1", "--partition-size", "3", "--max-count", "2")
    _cli("convert", *common, "--out", tmp_path / "one")
    split = tmp_path / "split"
    for i in (1, 3, 0, 2):  # four "machines", finishing in any order
        _cli("convert", *common, "--out", split, "--partition", f"{i}/4")
    assert "merged: 12 samples" in _cli("index", "merge", split)
    assert "OK" in _cli("verify", split)
    assert _tree(split) == _tree(tmp_path / "one")
    # A rerun of one machine's command skips its committed partition.
    assert "0/1" in _cli("convert", *common, "--out", split, "--partition", "2/4")
