"""The CLI refuses what would otherwise pass silently (real `onellm-data` processes): unknown or ill-typed `-o`
options, a named file that is missing, runs that write nothing or reject too much, builds whose sources cannot
start, annotation files of the wrong shape; and a run that failed before converting anything never blocks the
corrected rerun."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.samples.instruct_media import SOURCES
from tests.conftest import make_jpeg

TURNS = [{"from": "human", "value": "<image>\nWhat is shown?"}, {"from": "gpt", "value": "noise"}]


def cli(*args):
    result = CliRunner().invoke(app, list(map(str, args)), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def cli_process(*args):
    """A real process: what a user sees, tracebacks included."""
    done = subprocess.run([sys.executable, "-m", "onellm_data.cli", *map(str, args)], capture_output=True,
                          text=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    return done.returncode, done.stdout + done.stderr


def jsonl_raw(tmp_path, good, missing):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.jpg").write_bytes(make_jpeg(0))
    rows = [{"id": f"g{i}", "modality": "image", "media": {"jpg": "a.jpg"}, "conversations": TURNS}
            for i in range(good)]
    rows += [{"id": f"m{i}", "modality": "image", "media": {"jpg": "no.jpg"}, "conversations": TURNS}
             for i in range(missing)]
    (raw / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return raw


def test_unknown_option_is_an_error_listing_the_valid_ones(tmp_path):
    raw = jsonl_raw(tmp_path, 1, 0)
    code, out = cli("convert", "jsonl", "--raw", raw, "--out", tmp_path / "c", "-o", "jsn=x.jsonl")
    assert code == 2
    assert "unknown option(s) jsn" in out and "valid options: allow_root, file" in out
    assert not (tmp_path / "c" / "image").exists()


def test_option_naming_a_missing_file_or_of_the_wrong_type_is_an_error(tmp_path):
    code, out = cli("convert", "cc3m_depth", "--raw", tmp_path, "--out", tmp_path / "c", "-o", "csv=nope.csv")
    assert code == 2 and "nope.csv does not exist" in out
    code, out = cli("convert", "llava_depth", "--raw", tmp_path, "--out", tmp_path / "c", "-o", "subset=many")
    assert code == 2 and "subset='many' is not an integer" in out


def test_convert_help_and_sources_name_show_a_converters_options_and_layout(tmp_path):
    for args in (["convert", "llava_depth", "--help"], ["sources", "llava_depth", "--root", tmp_path]):
        code, out = cli(*args)
        assert code == 0
        for text in ("subset=<count>", "seed=<int>", "maps=<path>", "allow_root=<text>", "llava_instruct_150k.json"):
            assert text in out
    code, out = cli("convert", "--help")
    assert code == 0 and "subset=<count>" not in out


def test_a_run_that_writes_nothing_fails_with_its_top_reasons(tmp_path):
    raw = jsonl_raw(tmp_path, 0, 3)
    code, out = cli("convert", "jsonl", "--raw", raw, "--out", tmp_path / "c", "-j", "1")
    assert code == 1
    assert "wrote no sample from 3 record(s)" in out and "missing media file (3)" in out


def test_reject_share_above_the_limit_fails_and_is_configurable(tmp_path):
    raw = jsonl_raw(tmp_path, 1, 3)
    code, out = cli("convert", "jsonl", "--raw", raw, "--out", tmp_path / "c", "-j", "1")
    assert code == 1 and "rejected 3 of 4 records (75%" in out and "missing media file (3)" in out
    code, out = cli("convert", "jsonl", "--raw", raw, "--out", tmp_path / "c", "-j", "1", "--max-reject-share", "0.8")
    assert code == 0, out


def test_build_checks_every_source_before_converting_anything(tmp_path):
    root = tmp_path / "raw"
    (root / "coco_captions").mkdir(parents=True)
    SOURCES["coco_captions"](root / "coco_captions")
    (root / "msrvtt_qa").mkdir()  # present but empty: not what the converter reads
    code, out = cli("build", "--sources", "coco_captions,no_such,webvid,msrvtt_qa", "--raw-root", root,
                    "--out", tmp_path / "c", "-j", "1")
    assert code == 2
    assert "unknown source(s) no_such" in out and "webvid: raw folder" in out and "msrvtt_qa: missing" in out
    assert not (tmp_path / "c" / "image").exists()  # coco_captions, first in the list, was not converted


@pytest.mark.parametrize("source, bad_name, bad_text, expected", [
    ("coco_captions", "other.json", json.dumps({"videos": [], "sentences": [{"sen_id": 1}]}),
     "expected COCO's caption annotations"),
    ("msrvtt_qa", "train_qa.json", json.dumps({"images": [], "annotations": []}), "expected MSRVTT-QA's list"),
])
def test_json_of_another_source_is_a_one_line_error_and_the_corrected_rerun_works(tmp_path, source, bad_name,
                                                                                   bad_text, expected):
    raw = tmp_path / "raw"
    raw.mkdir()
    SOURCES[source](raw)
    good = raw / bad_name
    saved = good.read_bytes() if good.exists() else None
    good.write_text(bad_text)
    option = ["-o", f"json={bad_name}"] if source == "coco_captions" else ["-o", "splits=train"]
    code, out = cli_process("convert", source, "--raw", raw, "--out", tmp_path / "c", "-j", "1", *option)
    assert code == 2 and expected in out and str(good) in out and "Traceback" not in out
    if saved is not None:
        good.write_bytes(saved)
    corrected = [] if source == "coco_captions" else ["-o", "splits=train,val,test"]
    code, out = cli("convert", source, "--raw", raw, "--out", tmp_path / "c", "-j", "1", *corrected,
                    "--max-reject-share", "1")
    assert code == 0, out


def test_csv_with_other_columns_is_a_one_line_error(tmp_path):
    (tmp_path / "train.csv").write_text("file_name,caption_1\na.wav,x\n")
    code, out = cli_process("convert", "audiocaps", "--raw", tmp_path, "--out", tmp_path / "c")
    assert code == 2 and "Traceback" not in out
    assert f"{tmp_path / 'train.csv'}: expected an AudioCaps CSV" in out and "found columns file_name" in out


def test_a_partitioned_run_given_no_partition_is_not_a_failure(tmp_path):
    raw = jsonl_raw(tmp_path, 2, 0)
    code, out = cli("convert", "jsonl", "--raw", raw, "--out", tmp_path / "c", "-j", "1", "--partition", "3/4")
    assert code == 0, out


def test_a_partitioned_run_judges_its_rejects_against_its_own_records(tmp_path):
    """Partition 1 of 2 holds 1 good and 3 broken records: 75 % of what this run converted, not 3 of the source's
    8 records (which would pass the 50 % limit)."""
    raw = jsonl_raw(tmp_path, 5, 3)
    base = ("convert", "jsonl", "--raw", raw, "--out", tmp_path / "c", "-j", "1", "--partition-size", "4")
    code, out = cli(*base, "--partition", "1/2")
    assert code == 1 and "rejected 3 of 4 records (75%" in out, out
    assert "4 of 8" in out  # the summary says which share of the source this run covered
    code, out = cli(*base, "--partition", "0/2")
    assert code == 0, out
