"""``--onellm-compat``: OneLLM's decoding (temperature 0.1, top-p 0.75; fp16 on GPU) for reproducing its numbers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from model.evaluate import DecodeSettings, compat_dtype
from onellm_data.cli import app
from tests.model_eval.coco_helpers import write_tiny_coco_captions


def test_compat_settings_and_conflicts():
    compat = DecodeSettings.choose(16, 0.0, 1.0, 3, onellm_compat=True)
    assert (compat.temperature, compat.top_p, compat.seed) == (0.1, 0.75, 3)
    assert DecodeSettings.choose(16, 0.0, 1.0, 0, onellm_compat=False).temperature == 0.0
    with pytest.raises(ValueError, match="drop --temperature"):
        DecodeSettings.choose(16, 0.5, 1.0, 0, onellm_compat=True)
    assert compat_dtype("auto", "cuda", True) == "fp16" and compat_dtype("auto", "cpu", True) == "auto"
    assert compat_dtype("bf16", "cuda", False) == "bf16"
    with pytest.raises(ValueError, match="drop --dtype bf16"):
        compat_dtype("bf16", "cuda", True)


def test_eval_command_records_onellm_decoding(tiny_run, tmp_path):
    ann, media = write_tiny_coco_captions(tmp_path / "coco", n=2)
    args = ["eval", "--weights", str(tiny_run / "model.pt"), "--task", "caption", "--modality", "image",
            "--annotations", str(ann), "--media-root", str(media), "--max-new-tokens", "4", "--device", "cpu"]
    result = CliRunner().invoke(app, [*args, "--onellm-compat", "--out", str(tmp_path / "e")])
    assert result.exit_code == 0, result.output
    decoding = json.loads((tmp_path / "e" / "metrics.json").read_text())["decoding"]
    assert (decoding["temperature"], decoding["top_p"]) == (0.1, 0.75)
    result = CliRunner().invoke(app, [*args, "--onellm-compat", "--temperature", "0.5", "--out", str(tmp_path / "f")])
    assert result.exit_code == 2 and "--temperature/--top-p" in result.output
