"""``onellm-data eval`` end to end on a tiny saved model: caption and QA sets, the paper's sets by name, the
printed table, the output files, determinism and clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.model_eval.coco_helpers import write_tiny_coco_captions
from onellm_data.cli import app
from tests.conftest import make_jpeg
from tests.model_eval.conftest import write_imu, write_wav

CAPTION_KEYS = {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"}


def run(*args: str):
    return CliRunner().invoke(app, ["eval", *map(str, args)])


def test_caption_set(tmp_path, tiny_run) -> None:
    ann, media = write_tiny_coco_captions(tmp_path / "coco", n=3)
    out = tmp_path / "out"
    result = run("--weights", tiny_run / "model.pt", "--task", "caption", "--modality", "image", "--annotations", ann,
                 "--media-root", media, "--out", out, "--max-new-tokens", "6", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    predictions = json.loads((out / "predictions.json").read_text())
    assert sorted(p["image_id"] for p in predictions) == [100, 101, 102]
    assert all(isinstance(p["caption"], str) for p in predictions)
    metrics = json.loads((out / "metrics.json").read_text())
    assert CAPTION_KEYS <= set(metrics) and metrics["items"] == 3 and metrics["task"] == "caption"
    assert metrics["prompt"] == "Provide a one-sentence caption for the provided image."
    assert metrics["decoding"] == {"max_new_tokens": 6, "temperature": 0.0, "top_p": 1.0, "seed": 0,
                                   "stop_at_separator": True}
    for key in CAPTION_KEYS:
        assert key in result.stdout


def _qa_set(tmp_path: Path) -> tuple[Path, Path]:
    media = tmp_path / "media"
    media.mkdir(parents=True)
    entries = []
    for k, (question, answer) in enumerate([("What is shown?", "noise"), ("What colour dominates?", ["grey", "gray"]),
                                            ("Is it a photo?", "no")]):
        (media / f"q{k}.jpg").write_bytes(make_jpeg(10 + k))
        entries.append({"question_id": f"q{k}", "image": f"q{k}.jpg", "question": question, "answer": answer})
    (tmp_path / "qa.json").write_text(json.dumps(entries))
    return tmp_path / "qa.json", media


def test_qa_set_reports_exact_and_lenient_and_is_deterministic(tmp_path, tiny_run) -> None:
    ann, media = _qa_set(tmp_path)
    outputs = []
    for out in (tmp_path / "a", tmp_path / "b"):
        result = run("--weights", tiny_run, "--task", "qa", "--modality", "image", "--annotations", ann,
                     "--media-root", media, "--out", out, "--max-new-tokens", "5")
        assert result.exit_code == 0, result.output
        assert "exact_match" in result.stdout and "lenient_match" in result.stdout
        outputs.append(json.loads((out / "predictions.json").read_text()))
        metrics = json.loads((out / "metrics.json").read_text())
        assert {"exact_match", "lenient_match", "exact_match_any", "lenient_match_any"} <= set(metrics)
        assert metrics["items"] == 3
    assert outputs[0] == outputs[1]  # greedy decoding: the same predictions twice
    assert [p["question_id"] for p in outputs[0]] == ["q0", "q1", "q2"]
    assert outputs[0][0]["question"] == "What is shown?" and outputs[0][1]["answer"] == ["grey", "gray"]


def test_named_sets_clotho_aqa_and_ego4d_imu(tmp_path, tiny_run) -> None:
    audio = tmp_path / "audio_files"
    audio.mkdir()
    write_wav(audio / "birds, morning.wav", seed=1)
    rows = [["file_name", "QuestionText", "answer", "confidence"]] + \
        [["birds, morning.wav", "Are birds singing?", a, "yes"] for a in ("yes", "yes", "no")]
    with (tmp_path / "clotho_aqa_test.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    result = run("--weights", tiny_run, "--dataset", "clotho_aqa", "--annotations", tmp_path / "clotho_aqa_test.csv",
                 "--media-root", audio, "--out", tmp_path / "aqa", "--max-new-tokens", "4")
    assert result.exit_code == 0, result.output
    assert "accuracy 57.9" in result.stdout  # the paper's number, for reference
    rows_out = json.loads((tmp_path / "aqa" / "predictions.json").read_text())
    assert len(rows_out) == 1 and rows_out[0]["answer"] == ["yes", "no"]

    imu = tmp_path / "imu"
    imu.mkdir()
    write_imu(imu, "uid-7")
    coco = {"images": [{"id": k, "video_uid": "uid-7", "window_start": 2.0 * k, "window_end": 2.0 * k + 2}
                       for k in range(1, 3)],
            "annotations": [{"id": k, "image_id": k, "caption": "C walks around."} for k in range(1, 3)]}
    (tmp_path / "imu_2000_cococap.json").write_text(json.dumps(coco))
    result = run("--weights", tiny_run, "--dataset", "ego4d_imu", "--annotations", tmp_path / "imu_2000_cococap.json",
                 "--media-root", imu, "--out", tmp_path / "imu_out", "--max-new-tokens", "4", "--limit", "1")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "imu_out" / "metrics.json").read_text())
    assert metrics["items"] == 1 and metrics["prompt"] == "Describe the motion." and CAPTION_KEYS <= set(metrics)


def test_nocaps_prints_per_domain_rows(tmp_path, tiny_run) -> None:
    ann, media = write_tiny_coco_captions(tmp_path, n=2)
    data = json.loads(ann.read_text())
    for img, domain in zip(data["images"], ["in-domain", "out-domain"]):
        img["domain"] = domain
    ann.write_text(json.dumps(data))
    result = run("--weights", tiny_run, "--dataset", "nocaps", "--annotations", ann, "--media-root", media,
                 "--out", tmp_path / "out", "--max-new-tokens", "4")
    assert result.exit_code == 0, result.output
    assert "CIDEr (in-domain)" in result.stdout and "CIDEr (out-domain)" in result.stdout
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics["by_group"]) == {"in-domain", "out-domain"}


@pytest.mark.parametrize("case", ["weights", "dataset", "contradiction", "no_task", "media"])
def test_errors_are_clear_and_fail(tmp_path, tiny_run, case) -> None:
    ann, media = write_tiny_coco_captions(tmp_path, n=1)
    args = ["--weights", tiny_run, "--annotations", ann, "--media-root", media, "--out", tmp_path / "out",
            "--max-new-tokens", "2"]
    expected = {"weights": "weights not found", "dataset": "unknown --dataset 'vqa9'",
                "contradiction": "--modality audio contradicts", "no_task": "give --task and --modality",
                "media": "media file not found"}[case]
    if case == "weights":
        args[1] = tmp_path / "no_such_model.pt"
        args += ["--task", "caption", "--modality", "image"]
    elif case == "dataset":
        args += ["--dataset", "vqa9"]
    elif case == "contradiction":
        args += ["--dataset", "coco", "--modality", "audio"]
    elif case == "media":
        (media / "000000000000.jpg").unlink()
        args += ["--dataset", "coco"]
    result = run(*args)
    assert result.exit_code != 0
    assert expected in " ".join(result.stderr.split())
    assert not (tmp_path / "out" / "metrics.json").exists()
