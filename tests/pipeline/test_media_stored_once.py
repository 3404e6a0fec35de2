"""An image is stored once per source with all its conversations; the index and the loader still count items."""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer
from onellm_data.converters import make_converter
from onellm_data.converters._grouping import group_records
from onellm_data.loader import make_loader
from onellm_data.loader.template import IGNORE_INDEX
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.recipes import load_recipe
from onellm_data.verify import rebuild_index, verify
from tests.conftest import REALDATA
from tests.converters.instruct_helpers import read_samples, sample_raw
from tests.loader.corpus_helpers import fake_decode, write_recipe

SETTINGS = ShardSettings(max_count=3, partition_size=2)  # groups cross partition and shard borders


def _tar_members(corpus: Path) -> Counter:
    names: Counter = Counter()
    for tar in corpus.glob("*/*/*.tar"):
        with tarfile.open(tar) as tf:
            names.update(m.name.split(".", 1)[1] for m in tf)
    return names


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("coco")
    run_conversion(make_converter("coco_captions", sample_raw(root, "coco_captions")), root / "corpus", SETTINGS)
    return root / "corpus"


def test_each_image_stored_once_with_every_caption_indexed(coco):
    index = pq.read_table(coco / "index" / "samples.parquet").to_pandas()
    # Sample tree: image 9 has captions 1 and 2, image 25 caption 3 (its repeat is a duplicate id), image 30
    # caption 9 (its empty caption 4 is rejected alone, the good one is kept).
    assert sorted(index["source_id"]) == ["1", "2", "3", "9"]
    assert _tar_members(coco)["jpg"] == 3
    stored = index.groupby(["shard", "tar_offset"])["key"].count().sort_values().tolist()
    assert stored == [1, 1, 2]
    assert index["bytes"].sum() == _stored_member_bytes(coco)  # bytes counts each stored sample once
    rejects = pq.read_table(coco / "index" / "rejects.parquet").to_pandas().set_index("source_id")["reason"]
    assert rejects["4"] == "empty caption" and rejects["3"] == "duplicate id"
    read = read_samples(coco)
    assert read["2"][0]["conversations"][1]["value"] == "A small animal on a rug."
    assert verify(coco).ok


def _stored_member_bytes(corpus: Path) -> int:
    total = 0
    for tar in corpus.glob("*/*/*.tar"):
        with tarfile.open(tar) as tf:
            total += sum(m.size for m in tf)
    return total


def test_loader_visits_each_conversation_once_per_epoch(coco, tmp_path):
    """Exposure equals one sample per item: every caption is one visit, with its own answer."""
    path = write_recipe(tmp_path / "r.yaml", [{"source": "coco_captions"}], corpus=coco, sampling="epoch",
                        batch_size=1, seq_len=64)
    path.write_text("format: caption\n" + path.read_text())
    tok = Tokenizer(DEMO_TOKENIZER)
    answers = {record["key"]: record["conversations"][1]["value"] for record, _ in read_samples(coco).values()}
    seen: Counter = Counter()
    for batch in make_loader(load_recipe(path), None, tok, decoder=fake_decode):
        for key, labels in zip(batch["keys"], batch["labels"]):
            seen[key] += 1
            assert tok.decode([int(t) for t in labels if t != IGNORE_INDEX]) == answers[key]
    assert seen == {key: 1 for key in answers}


def test_rebuilt_index_has_a_row_per_conversation(coco, tmp_path):
    import shutil

    copy = tmp_path / "corpus"
    shutil.copytree(coco, copy)
    before = pq.read_table(copy / "index" / "samples.parquet").to_pandas()
    for part in (copy / "index" / "parts").rglob("*.samples.parquet"):
        part.unlink()
    rebuild_index(copy)
    after = pq.read_table(copy / "index" / "samples.parquet").to_pandas()
    columns = ["key", "stored_key", "conversation", "shard", "tar_offset", "bytes", "turns", "answer_chars"]
    assert after[columns].equals(before[columns])


def test_verify_reports_a_conversation_row_pointing_nowhere(coco, tmp_path):
    import shutil

    copy = tmp_path / "corpus"
    shutil.copytree(coco, copy)
    table = pq.read_table(copy / "index" / "samples.parquet").to_pandas()
    row = table.index[table["conversation"] > 0][0]
    table.loc[row, "tar_offset"] = 0 if table.loc[row, "tar_offset"] else 512
    table.to_parquet(copy / "index" / "samples.parquet")
    assert [p[0] for p in verify(copy).problems] == ["inconsistent"]


def test_llava_items_over_one_image_share_it(tmp_path):
    raw = sample_raw(tmp_path, "llava_mix665k")
    run_conversion(make_converter("llava_mix665k", raw), tmp_path / "c", SETTINGS)
    index = pq.read_table(tmp_path / "c" / "index" / "samples.parquet").to_pandas()
    coco_rows = index[index["meta_json"].fillna("").str.contains("coco/train2017/000000000001.jpg")]
    assert len(coco_rows) == 2 and coco_rows["tar_offset"].nunique() == 1 and coco_rows["shard"].nunique() == 1
    assert _tar_members(tmp_path / "c")["jpg"] + _tar_members(tmp_path / "c")["png"] == len(index[index.modality == "image"]) - 1


def test_grouping_is_deterministic_and_keeps_singletons_and_rejects_in_place(tmp_path):
    records = [{"source_id": "a", "m": "x"}, {"source_id": "b", "m": None}, {"source_id": "c", "_reject": "bad"},
               {"source_id": "d", "m": "y"}, {"source_id": "e", "m": "x"}, {"source_id": "a", "m": "y"}]
    out = list(group_records(iter(records), lambda r: r["m"], tmp_path))
    assert out == [{"source_id": "a", "_group": [records[0], records[4]]}, records[1], records[2], records[3],
                   {"source_id": "a", "_reject": "duplicate id"}]
    assert out == list(group_records(iter(records), lambda r: r["m"], tmp_path))
    assert list(tmp_path.iterdir()) == []  # the spill file is gone


@pytest.mark.skipif(not (REALDATA / "coco").exists(), reason="real COCO subset only in the team checkout")
def test_realdata_coco_stores_each_image_once(tmp_path):
    run_conversion(make_converter("coco_captions", REALDATA / "coco"), tmp_path / "c",
                   ShardSettings(partition_size=5000))
    index = pq.read_table(tmp_path / "c" / "index" / "samples.parquet").to_pandas()
    images = json.loads((REALDATA / "coco/annotations/captions_train2017.json").read_text())["images"]
    assert len(index) == 400 and _tar_members(tmp_path / "c")["jpg"] == index["stored_key"].nunique()
    assert index["stored_key"].nunique() < len(index) and index["stored_key"].nunique() <= len(images)
