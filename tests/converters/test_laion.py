import json
import tarfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters import make_converter
from onellm_data.samples.alignment_media import EXPECTED, LAION_ROWS, image_bytes, write_img2dataset, write_laion
from tests.conftest import realdata

SETTINGS = ShardSettings(max_count=3, partition_size=3)


def read_corpus_samples(corpus):
    """key → (caption, image bytes) read back from the written shards."""
    out = {}
    for tar_path in sorted(corpus.glob("image/*/*.tar")):
        with tarfile.open(tar_path) as tar:
            members = {m.name: tar.extractfile(m).read() for m in tar}
        for name, data in members.items():
            if name.endswith(".json"):
                rec = json.loads(data)
                out[rec["key"]] = (rec, members[f"{rec['key']}.jpg"])
    return out


@pytest.mark.parametrize("fmt", ["webdataset", "files"])
def test_sample_tree_converts_with_rejects(tmp_path, fmt):
    raw = tmp_path / "raw"
    raw.mkdir()
    write_laion(raw, fmt=fmt)
    summary = run_conversion(make_converter("laion", raw), tmp_path / "c", SETTINGS)
    assert summary.samples == EXPECTED["laion"]["samples"]
    assert dict(summary.rejects) == EXPECTED["laion"]["rejects"]
    samples = read_corpus_samples(tmp_path / "c")
    rec, jpg = samples["laion-000000003"]
    assert rec["conversations"] == [{"from": "human", "value": "<image>"}, {"from": "gpt", "value": LAION_ROWS[3][1]}]
    assert rec["meta"] == {"task": "caption", "width": 48, "height": 32}
    assert jpg == image_bytes(3)  # the downloaded bytes, unchanged
    rejects = pd.read_parquet(tmp_path / "c/index/rejects.parquet").set_index("source_id")
    assert rejects.loc["000000004", "reason"] == "missing media file"


def test_keys_follow_img2dataset_sharding_across_shards(tmp_path):
    """With number_sample_per_shard=3 the rows spread over 00000..00002 and keys are 10*shard + i."""
    raw = tmp_path / "raw"
    raw.mkdir()
    write_laion(raw, per_shard=3)
    assert sorted(p.name for p in (raw / "images").glob("*.tar")) == ["00000.tar", "00001.tar", "00002.tar"]
    conv = make_converter("laion", raw, samples_per_shard=3)
    records = [r for r in conv.records() if "_reject" not in r]
    assert [(r["shard"], r["key"]) for r in records][:3] == [(0, 0), (0, 1), (1, 10)]
    run_conversion(conv, tmp_path / "c", SETTINGS)
    got = {k: rec["conversations"][1]["value"] for k, (rec, _) in read_corpus_samples(tmp_path / "c").items()}
    # img2dataset pads keys to 5 + ceil(log10(3)) = 6 digits here
    assert got == {"laion-000000": LAION_ROWS[0][1], "laion-000001": LAION_ROWS[1][1],
                   "laion-000010": LAION_ROWS[3][1], "laion-000020": LAION_ROWS[6][1],
                   "laion-000021": LAION_ROWS[7][1]}


def test_url_mismatch_is_rejected(tmp_path):
    """Downloaded .json urls that disagree with the list (wrong sharding or list) never pair wrong captions."""
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = [(f"https://x/{i}.jpg", f"caption {i}") for i in range(4)]
    pq.write_table(pa.table({"URL": [u for u, _ in rows], "TEXT": [t for _, t in rows]}), raw / "list.parquet")
    write_img2dataset(raw / "images", [rows[0], rows[2], rows[1], rows[3]])
    summary = run_conversion(make_converter("laion", raw), tmp_path / "c", SETTINGS)
    assert summary.samples == 2 and dict(summary.rejects) == {"url mismatch": 2}


def test_laion_coco_top_caption_and_bad_cells(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    table = pa.table({"URL": ["u0", "u1", "u2", "u3"], "TEXT": ["alt 0", "alt 1", "alt 2", "alt 3"],
                      "top_caption": ["a cat on a mat", None, "", "a red car"]})
    pq.write_table(table, raw / "laion_coco_part0.parquet", row_group_size=2)
    records = list(make_converter("laion", raw).records())
    assert [r.get("caption") or r["_reject"] for r in records] == [
        "a cat on a mat", "missing caption", "empty caption", "a red car"]
    alt = list(make_converter("laion", raw, caption_col="TEXT").records())
    assert [r["caption"] for r in alt] == ["alt 0", "alt 1", "alt 2", "alt 3"]


def test_several_list_files_continue_shard_ids(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for part in range(2):
        pq.write_table(pa.table({"URL": [f"u{part}{i}" for i in range(5)], "TEXT": ["t"] * 5}),
                       raw / f"part-{part:05d}.parquet")
    pq.write_table(pa.table({"key": ["000000000"]}), raw / "00000.parquet")  # img2dataset's own file: not a list
    records = list(make_converter("laion", raw, samples_per_shard=2).records())
    assert len(records) == 10
    # part 0: 5 rows → shards 0,1,2; part 1 starts at shard 3
    assert [r["shard"] for r in records] == [0, 0, 1, 1, 2, 3, 3, 4, 4, 5]
    assert records[5]["source_id"] == "000030"


def test_realdata_parquet_rows(tmp_path):
    path = realdata("laion/test_1000.parquet")
    expected = pq.read_table(path)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "test_1000.parquet").symlink_to(path)
    records = list(make_converter("laion", raw).records())
    assert len(records) == 1000 and not [r for r in records if "_reject" in r]
    assert [r["url"] for r in records] == expected.column("URL").to_pylist()
    assert [r["caption"] for r in records] == [t.strip() for t in expected.column("TEXT").to_pylist()]
    assert records[999]["source_id"] == "000000999"
    # "download" 20 of the real rows: they convert, the other 980 are recorded as not downloaded
    rows = list(zip(expected.column("URL").to_pylist(), expected.column("TEXT").to_pylist()))
    write_img2dataset(raw / "images", rows, missing=frozenset(range(20, 1000)))
    summary = run_conversion(make_converter("laion", raw), tmp_path / "c", ShardSettings(partition_size=250))
    assert summary.samples == 20 and dict(summary.rejects) == {"missing media file": 980}


def test_column_order_and_case_do_not_matter(tmp_path):
    pq.write_table(pa.table({"caption": ["cap a", "cap b"], "url": ["ua", "ub"]}), tmp_path / "x.parquet")
    records = list(make_converter("laion", tmp_path, caption_col="caption").records())
    assert [(r["url"], r["caption"]) for r in records] == [("ua", "cap a"), ("ub", "cap b")]
    pq.write_table(pa.table({"TEXT": ["cap a"], "URL": ["ua"]}), tmp_path / "x.parquet")
    assert [(r["url"], r["caption"]) for r in make_converter("laion", tmp_path).records()] == [("ua", "cap a")]
