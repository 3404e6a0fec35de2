"""One bad row never aborts a run: bytes that are not UTF-8, a meta that is not an object, a string in a typed
meta field and text that cannot be stored as JSON each become a reject with its reason; good rows convert."""

import json

from onellm_data.converters import make_converter
from onellm_data.converters._rejects import MALFORMED_META, NOT_UTF8
from onellm_data.pipeline import run_conversion
from tests.conftest import make_jpeg
from tests.converters.instruct_helpers import SETTINGS, index, sample_raw

TURNS = [{"from": "human", "value": "<image>\nWhat is shown?"}, {"from": "gpt", "value": "noise"}]


def _row(item_id, **extra):
    return json.dumps({"id": item_id, "modality": "image", "media": {"jpg": "a.jpg"}, "conversations": TURNS,
                       **extra}).encode()


def test_jsonl_bad_rows_are_rejects_with_reasons(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.jpg").write_bytes(make_jpeg(0))
    lone = json.dumps({"id": "surrogate", "modality": "image", "media": {"jpg": "a.jpg"},
                       "conversations": [TURNS[0], {"from": "gpt", "value": "\udc80"}]}).encode()
    lines = [_row("good", meta={"width": 64}), b'{"id": "latin1", "caption": "caf\xe9"}',
             _row("meta_string", meta="x"), _row("meta_typed", meta={"width": "x"}), lone, _row("also_good")]
    (raw / "samples.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    summary = run_conversion(make_converter("jsonl", raw), tmp_path / "corpus", SETTINGS)
    assert sorted(index(tmp_path / "corpus").source_id) == ["also_good", "good"]
    rejects = index(tmp_path / "corpus", "rejects")
    reasons = dict(zip(rejects.source_id, rejects.reason))
    assert reasons == {"line2": NOT_UTF8, "meta_string": MALFORMED_META, "meta_typed": "meta field width is not int32",
                       "surrogate": "record is not JSON text"}
    assert summary.samples == 2


def test_csv_row_with_bytes_that_are_not_utf8_is_a_reject(tmp_path):
    raw = sample_raw(tmp_path, "audiocaps")
    with open(raw / "train.csv", "ab") as fh:
        fh.write(b'1999,ytZ0000009z,30,"A caf\xe9 crowd murmurs"\n')
    summary = run_conversion(make_converter("audiocaps", raw), tmp_path / "corpus", SETTINGS)
    rejects = index(tmp_path / "corpus", "rejects")
    assert dict(zip(rejects.source_id, rejects.reason))["train-line" + str(_lines(raw / "train.csv"))] == NOT_UTF8
    assert summary.samples > 0


def _lines(path):
    return len(path.read_bytes().splitlines())
