"""Presets and overrides."""

import pytest

from model.config import ModelConfig, preset, release_name


def test_released_dimensions() -> None:
    cfg = preset("onellm-7b")
    assert (cfg.dim, cfg.n_layers, cfg.n_heads, cfg.ffn_dim, cfg.vocab_size) == (4096, 32, 32, 11008, 32000)
    assert (cfg.clip_width, cfg.clip_layers, cfg.clip_grid) == (1024, 24, 16)
    assert (cfg.upm_experts, cfg.upm_blocks, cfg.upm_ffn_dim, cfg.modality_tokens) == (3, 8, 2816, 30)


def test_tiny_keeps_structure_and_any_field_overrides() -> None:
    tiny = preset("tiny", n_layers=3, router_norm="softmax")
    assert tiny.n_layers == 3 and tiny.router_norm == "softmax" and tiny.modality_tokens == 30
    assert tiny.token_counts() == preset("onellm-7b").token_counts()  # same input sizes
    assert ModelConfig(**tiny.to_dict()) == tiny


@pytest.mark.parametrize("bad", [{"nope": 1}, {"router_norm": "relu"}, {"n_heads": 5}, {"point_group_on": "z"}])
def test_bad_overrides_rejected(bad) -> None:
    with pytest.raises(ValueError):
        preset("tiny", **bad)


def test_unknown_preset_and_modality_names() -> None:
    with pytest.raises(ValueError, match="unknown model preset"):
        preset("llama-70b")
    assert release_name("depth") == "rgbd" and release_name("normal") == "rgbn" and release_name("image") == "image"
    with pytest.raises(ValueError):
        release_name("smell")
