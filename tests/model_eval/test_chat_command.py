"""``onellm-data chat`` on an image, a wav, a point cloud, an IMU window, fMRI and text, with a tiny saved model:
an answer is printed, greedy decoding repeats itself, and bad inputs fail with a clear message."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from model.text_tokenizer import DEMO_TOKENIZER
from onellm_data.cli import app
from tests.codecs.media import frame_levels, grey_video


def chat(*args: str):
    return CliRunner().invoke(app, ["chat", *map(str, args)])


CASES = {
    "image": ("photo.jpg", []),
    "audio": ("sound.wav", []),
    "point": ("cloud.npy", []),
    "imu": ("uid-1.npy", ["--window", "3", "5"]),
    "fmri": ("scan.npy", []),
    "depth": ("photo.jpg", ["--map", "photo_depth.png"]),
}


@pytest.mark.parametrize("modality", list(CASES))
def test_chat_answers_each_modality_deterministically(tiny_run, media_dir, modality) -> None:
    name, extra = CASES[modality]
    extra = [str(media_dir / e) if e.endswith(".png") else e for e in extra]
    args = ["--weights", tiny_run / "model.pt", "--modality", modality, media_dir / name, "What is this?",
            "--max-new-tokens", "6", "--json", *extra]
    first = chat(*args)
    assert first.exit_code == 0, first.output
    if modality in ("image", "audio"):
        assert chat(*args).stdout == first.stdout  # greedy: the same answer twice
    out = json.loads(first.stdout)
    assert out["modality"] == modality and 1 <= out["new_tokens"] <= 6 and out["prompt_tokens"] > 30
    assert isinstance(out["answer"], str) and out["answer"] == out["raw"].split("###")[0].strip()


def test_chat_on_a_video(tmp_path, tiny_run) -> None:
    video = grey_video(tmp_path / "clip.mp4", frame_levels(40))  # 4 s at 10 fps; skips without ffmpeg
    result = chat("--weights", tiny_run, "--modality", "video", video, "What happens?", "--max-new-tokens", "4",
                  "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new_tokens"] >= 1


def test_chat_prints_the_plain_answer_and_takes_text_and_sampling(tiny_run, media_dir) -> None:
    base = ["--weights", tiny_run, "--tokenizer", DEMO_TOKENIZER, "--max-new-tokens", "5"]
    plain = chat(*base, "--modality", "image", media_dir / "photo.jpg", "Describe it.")
    as_json = chat(*base, "--modality", "image", media_dir / "photo.jpg", "Describe it.", "--json")
    assert plain.exit_code == 0 and plain.stdout == json.loads(as_json.stdout)["answer"] + "\n"
    text = chat(*base, "--modality", "text", "-", "Say hello.")
    assert text.exit_code == 0, text.output
    sampled = [chat(*base, "--modality", "image", media_dir / "photo.jpg", "Describe it.", "--temperature", "0.8",
                    "--top-p", "0.9", "--seed", "5").stdout for _ in range(2)]
    assert sampled[0] == sampled[1]  # seeded


@pytest.mark.parametrize("case, expected", [
    ("weights", "weights not found"),
    ("media", "media file not found"),
    ("imu_window", "imu input needs a window"),
    ("imu_length", "IMU window is not 2 s"),
    ("depth_map", "needs the RGB image and its depth map"),
    ("modality", "no media for modality 'smell'"),
])
def test_chat_errors(tmp_path, tiny_run, media_dir, case, expected) -> None:
    weights, modality, media, extra = tiny_run, "image", media_dir / "photo.jpg", []
    if case == "weights":
        weights = tmp_path / "missing"
    elif case == "media":
        media = tmp_path / "missing.jpg"
    elif case == "imu_window":
        modality, media = "imu", media_dir / "uid-1.npy"
    elif case == "imu_length":
        modality, media, extra = "imu", media_dir / "uid-1.npy", ["--window", "1", "6"]
    elif case == "depth_map":
        modality = "depth"
    elif case == "modality":
        modality = "smell"
    result = chat("--weights", weights, "--modality", modality, media, "What is it?", *extra)
    assert result.exit_code != 0
    assert expected in " ".join(result.stderr.split())
