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


def test_chat_prompts_in_the_format_the_weights_trained_on(tmp_path, tiny_run, media_dir) -> None:
    """``--format auto`` follows the run's stage.json (a caption model gets BOS alone); ``--format`` overrides."""
    run = tmp_path / "caption_run"
    run.mkdir()
    (run / "model.pt").write_bytes((tiny_run / "model.pt").read_bytes())
    (run / "stage.json").write_text(json.dumps({"recipe": "a", "steps": 1, "modalities": ["image"],
                                                "format": "caption"}))
    base = ["--modality", "image", media_dir / "photo.jpg", "What is this?", "--max-new-tokens", "2", "--json"]
    shown = {}
    for weights, fmt in ((run, "auto"), (run, "chat"), (tiny_run, "auto"), (tiny_run, "caption")):
        result = chat("--weights", weights, *base, "--format", fmt)
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        shown[(weights.name, fmt)] = (out["format"], out["prompt_tokens"])
    assert shown[("caption_run", "auto")] == ("caption", 1) and shown[(tiny_run.name, "caption")] == ("caption", 1)
    assert shown[("caption_run", "chat")][0] == "chat" and shown[("caption_run", "chat")][1] > 30
    assert shown[(tiny_run.name, "auto")] == shown[("caption_run", "chat")]


def test_chat_onellm_compat_samples_as_onellm(tiny_run, media_dir) -> None:
    """``--onellm-compat`` decodes with temperature 0.1 and top-p 0.75: the same answer as those settings given
    by hand with the same seed, and asking for both is refused."""
    base = ["--weights", tiny_run, "--modality", "image", media_dir / "photo.jpg", "Describe it.",
            "--max-new-tokens", "8", "--seed", "4", "--json"]
    compat = chat(*base, "--onellm-compat")
    by_hand = chat(*base, "--temperature", "0.1", "--top-p", "0.75")
    greedy = chat(*base)
    assert compat.exit_code == by_hand.exit_code == greedy.exit_code == 0, compat.output
    assert json.loads(compat.stdout)["raw"] == json.loads(by_hand.stdout)["raw"]
    assert json.loads(compat.stdout)["raw"] != json.loads(greedy.stdout)["raw"]  # it does sample
    refused = chat(*base, "--onellm-compat", "--top-p", "0.5")
    assert refused.exit_code != 0 and "--temperature/--top-p" in " ".join(refused.stderr.split())
