import json

import pandas as pd

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters import make_converter
from onellm_data.samples.alignment_media import CORRUPT, EXPECTED, image_bytes, write_image_folder

SETTINGS = ShardSettings(partition_size=2)


def test_folder_of_pairs(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    write_image_folder(raw)
    conv = make_converter("image_folder", raw)
    assert [r["source_id"] for r in conv.records()] == [
        "beach/shell", "beach/waves", "blank", "broken", "cat", "nocaption"]
    summary = run_conversion(conv, tmp_path / "c", SETTINGS)
    assert summary.samples == EXPECTED["image_folder"]["samples"]
    assert dict(summary.rejects) == EXPECTED["image_folder"]["rejects"]
    samples = pd.read_parquet(tmp_path / "c/index/samples.parquet").set_index("source_id")
    assert samples.loc["beach/waves", "members"].tolist() == ["json", "png"]
    assert samples.loc["cat", "answer_chars"] == len("A grey cat asleep on a sofa.")


def test_caption_list_csv_and_jsonl(tmp_path):
    raw = tmp_path / "raw"
    (raw / "images").mkdir(parents=True)
    for i in range(3):
        (raw / "images" / f"{i}.jpg").write_bytes(image_bytes(i))
    (raw / "images" / "bad.jpg").write_bytes(CORRUPT)
    (raw / "captions.csv").write_text(
        "file,caption\nimages/0.jpg,a zero\nimages/1.jpg,\nimages/2.jpg,a two\nimages/0.jpg,zero again\n"
        "images/9.jpg,nine\nimages/bad.jpg,bad\n,orphan caption\n")
    summary = run_conversion(make_converter("image_folder", raw), tmp_path / "c", SETTINGS)
    assert summary.samples == 2
    assert dict(summary.rejects) == {"empty caption": 1, "duplicate id": 1, "missing media file": 1,
                                     "undecodable image": 1, "malformed annotation row": 1}
    lines = [{"image": "images/0.jpg", "text": "zero"}, {"image": "images/2.jpg", "text": 7}, "not an object"]
    (raw / "list.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n")
    records = list(make_converter("image_folder", raw, captions="list.jsonl").records())
    assert [r.get("caption") or r["_reject"] for r in records] == [
        "zero", "caption is not a string", "malformed annotation row", "malformed annotation row"]


def test_caption_list_paths_outside_the_raw_folder_are_rejected(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (tmp_path / "secret.jpg").write_bytes(image_bytes(0))
    (raw / "captions.csv").write_text(f"file,caption\n../secret.jpg,escape\n{tmp_path / 'secret.jpg'},absolute\n")
    records = list(make_converter("image_folder", raw).records())
    assert [r.get("_reject") for r in records] == ["media path outside the source folder"] * 2
