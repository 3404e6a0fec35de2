import pytest

from onellm_data.converters import make_converter
from onellm_data.errors import AnnotationError
from onellm_data.samples.instruct_media import EXPECTED
from tests.conftest import realdata
from tests.converters.instruct_helpers import BIG, convert, index, read_samples, sample_raw

PROMPT = "<audio>\nProvide a one-sentence caption for the provided audio."


def test_sample_tree_train_and_val(tmp_path):
    raw = sample_raw(tmp_path, "audiocaps")
    summary = convert(raw, tmp_path / "c", "audiocaps")
    assert summary.samples == EXPECTED["audiocaps"]["samples"]
    assert dict(summary.rejects) == EXPECTED["audiocaps"]["rejects"]
    read = read_samples(tmp_path / "c")
    assert sorted(read) == ["1001", "1002", "2001", "2002"]  # test.csv is not part of OneLLM's mix
    record, media = read["1001"]
    assert record["conversations"] == [{"from": "human", "value": PROMPT},
                                       {"from": "gpt", "value": "A dog barks, then a car passes"}]
    assert list(media) == ["wav"] and list(read["1002"][1]) == ["flac"]
    assert list(read["2002"][1]) == ["wav"]  # AudioSet-style Y{youtube_id}.wav
    rejects = index(tmp_path / "c", "rejects").set_index("source_id")
    assert rejects.loc["1003", "reason"] == "missing media file"


def test_not_an_audiocaps_csv(tmp_path):
    (tmp_path / "train.csv").write_text("file_name,caption_1\na.wav,x\n")
    with pytest.raises(AnnotationError, match="expected an AudioCaps CSV"):
        list(make_converter("audiocaps", tmp_path).records())


def test_realdata_val_csv_all_clips_missing(tmp_path):
    raw = realdata("audiocaps/val.csv").parent
    records = list(make_converter("audiocaps", raw, splits="val").records())
    assert len(records) == 2475 and len({r["source_id"] for r in records}) == 2475
    assert len({(r["youtube_id"], r["start_time"]) for r in records}) == 495
    assert any("," in r["caption"] for r in records)  # quoted captions parsed whole
    summary = convert(raw, tmp_path / "c", "audiocaps", BIG, splits="val")
    assert summary.samples == 0 and dict(summary.rejects) == {"missing media file": 2475}
