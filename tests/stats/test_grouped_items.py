"""A source whose items share stored media (COCO: one image, several captions) is counted by item, as before:
``stats`` and ``mix`` see one per index row, and bytes count each stored sample once."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.converters import make_converter
from onellm_data.index import read_table
from onellm_data.loader.realised_mix import realised_mix
from onellm_data.loader.schedule import Schedule
from onellm_data.loader.dataset import build_lanes
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.recipes import load_recipe
from onellm_data.stats import compute_stats
from tests.converters.instruct_helpers import sample_raw
from tests.loader.corpus_helpers import write_recipe


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("grouped")
    corpus = root / "corpus"
    run_conversion(make_converter("coco_captions", sample_raw(root, "coco_captions")), corpus,
                   ShardSettings(max_count=3, partition_size=2))
    index = read_table(corpus, "samples").to_pandas()
    assert index["stored_key"].nunique() < len(index)  # some image holds several captions
    return corpus


def _tar_samples_and_bytes(corpus: Path) -> tuple[int, int]:
    keys, size = set(), 0
    for path in corpus.glob("image/coco_captions/*.tar"):
        with tarfile.open(path) as tar:
            for info in tar:
                keys.add(info.name.split(".", 1)[0])
                size += info.size
    return len(keys), size


def test_stats_count_items_and_stored_bytes_once(coco: Path) -> None:
    index = read_table(coco, "samples").to_pandas()
    stored, member_bytes = _tar_samples_and_bytes(coco)
    assert stored == index["stored_key"].nunique()
    row = next(s for s in compute_stats(coco)["sources"] if s["source"] == "coco_captions")
    assert row["items"] == len(index) > stored
    assert row["bytes"] == member_bytes


def test_mix_epoch_is_one_visit_per_item(coco: Path, tmp_path: Path) -> None:
    path = write_recipe(tmp_path / "r.yaml", [{"source": "coco_captions"}], corpus=coco, sampling="epoch",
                        batch_size=1)
    path.write_text("format: caption\n" + path.read_text())
    recipe = load_recipe(path)
    samples = read_table(coco, "samples")
    _, specs = build_lanes(recipe, samples)
    length = Schedule(specs, "epoch", 1, 0).epoch_length()
    assert length == samples.num_rows  # batch size 1: one batch per item, not per stored image
    df = realised_mix(recipe, samples.to_pandas(), num_batches=length).set_index("source")
    assert df.loc["coco_captions", "epochs"] == pytest.approx(1.0)
    result = CliRunner().invoke(app, ["mix", str(path), "--corpus", str(coco), "--batches", str(length)])
    assert result.exit_code == 0, result.output
    assert "coco_captions" in result.output
