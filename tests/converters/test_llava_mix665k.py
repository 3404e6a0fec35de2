import json

import pytest

from onellm_data.codecs.image import decode_image
from onellm_data.converters import make_converter
from onellm_data.samples.instruct_media import EXPECTED
from tests.conftest import realdata
from tests.converters.instruct_helpers import BIG, convert, first_turn, index, read_samples, sample_raw


def test_sample_tree_image_and_text_items(tmp_path):
    raw = sample_raw(tmp_path, "llava_mix665k")
    summary = convert(raw, tmp_path / "c", "llava_mix665k")
    assert summary.samples == EXPECTED["llava_mix665k"]["samples"]
    assert dict(summary.rejects) == EXPECTED["llava_mix665k"]["rejects"]
    samples = index(tmp_path / "c").set_index("source_id")
    assert samples.modality.value_counts().to_dict() == EXPECTED["llava_mix665k"]["modalities"]
    # A repeated id with new content is kept under a suffixed id; the exact repeat was the duplicate.
    assert {"000000000001", "000000000001-1"} <= set(samples.index)
    assert samples.loc["ocr_1", "members"].tolist() == ["json", "png"]  # .jpg in the JSON, .png on disk
    assert samples.loc["i6IyJda_0", "members"].tolist() == ["json"]
    read = read_samples(tmp_path / "c")
    # "<image>" after the question moves to the front; later turns keep no placeholder.
    gqa, _ = read["2354786"]
    assert first_turn(gqa) == "<image>\nIs the sky blue?"
    assert [t["from"] for t in gqa["conversations"]] == ["human", "gpt", "human", "gpt"]
    assert read["sharegpt_1"][0]["conversations"][1] == {"from": "gpt", "value": "4"}
    record, media = read["000000000001"]
    assert record["meta"]["dataset"] == "coco" and decode_image(media["jpg"]).shape == (3, 224, 224)
    rejects = index(tmp_path / "c", "rejects").set_index("source_id")
    assert rejects.loc["missing", "reason"] == "missing media file"
    assert rejects.loc["order", "reason"] == "roles out of order"


def test_modalities_option_keeps_text_only(tmp_path):
    raw = sample_raw(tmp_path, "llava_mix665k")
    records = list(make_converter("llava_mix665k", raw, modalities="text").records())
    assert {r.get("modality") for r in records if "_reject" not in r} == {"text"}


def test_truncated_json_records_a_reject(tmp_path):
    items = [{"id": "a", "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}] * 2
    (tmp_path / "llava_v1_5_mix665k.json").write_text(json.dumps(items)[:-30])
    records = list(make_converter("llava_mix665k", tmp_path).records())
    assert records[0]["source_id"] == "a" and records[-1]["_reject"] == "malformed annotation file"


def test_realdata_llava_schema(tmp_path):
    path = realdata("llava/llava_test_CQM-A.json")
    records = list(make_converter("llava_mix665k", path.parent, json=path.name).records())
    assert len(records) == 4241
    assert sum(r["modality"] == "text" for r in records) == 2224
    conv = make_converter("llava_mix665k", path.parent, json=path.name)
    text = next(r for r in records if r["modality"] == "text")
    sample = conv.convert(text)
    assert sample.modality == "text" and sample.conversations[0]["from"] == "human"
    # Image items name ScienceQA images that are not here: each is a clean reject, never a crash.
    summary = convert(path.parent, tmp_path / "c", "llava_mix665k", BIG, json=path.name,
                      modalities="text")
    assert summary.samples == 2224 and not summary.rejects
    image = next(r for r in records if r["modality"] == "image")
    with pytest.raises(Exception, match="missing media file"):
        conv.convert(image)
