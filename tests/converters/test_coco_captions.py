from onellm_data.codecs.image import decode_image
from onellm_data.converters import make_converter
from onellm_data.samples.instruct_media import EXPECTED
from tests.conftest import realdata
from tests.converters.instruct_helpers import BIG, convert, index, read_samples, sample_raw

PROMPT = "<image>\nProvide a one-sentence caption for the provided image."


def test_sample_tree_one_caption_per_item(tmp_path):
    raw = sample_raw(tmp_path, "coco_captions")
    summary = convert(raw, tmp_path / "c", "coco_captions")
    assert summary.samples == EXPECTED["coco_captions"]["samples"]
    assert dict(summary.rejects) == EXPECTED["coco_captions"]["rejects"]
    read = read_samples(tmp_path / "c")
    assert sorted(read) == ["1", "2", "3", "9"]
    record, media = read["1"]
    assert record["conversations"] == [{"from": "human", "value": PROMPT},
                                       {"from": "gpt", "value": "A cat sitting on a mat."}]
    assert record["meta"]["image_id"] == "9" and decode_image(media["jpg"]).shape == (3, 224, 224)
    rejects = index(tmp_path / "c", "rejects").set_index("source_id")
    assert rejects.loc["5", "reason"] == "unknown id reference"
    assert rejects.loc["6", "reason"] == "missing media file"


def test_realdata_coco_subset(tmp_path):
    raw = realdata("coco")
    summary = convert(raw, tmp_path / "c", "coco_captions", BIG)
    assert summary.samples == 400 and not summary.rejects
    samples = index(tmp_path / "c")
    assert samples.source_id.nunique() == 400 and (samples.width > 0).all()
    read = read_samples(tmp_path / "c")
    answers = [r["conversations"][1]["value"] for r, _ in read.values()]
    assert all(a == a.strip() and "  " not in a for a in answers)  # stray whitespace collapsed
    assert {r["conversations"][0]["value"] for r, _ in read.values()} == {PROMPT}
    records = list(make_converter("coco_captions", raw).records())  # one record per image, all its captions
    assert sum(len(r.get("_group", [r])) for r in records) == 400 and len(records) < 400
