"""Stage-initialisation recipe options."""

from __future__ import annotations

import pytest
import torch
import yaml

from model.checkpoint import CheckpointError, save_model
from model.config import preset
from model.onellm import OneLLM
from model.text_tokenizer import DEMO_TOKENIZER
from model.train import build_model
from onellm_data.recipes import load_recipe
from tests.loader.corpus_helpers import build_corpus


def test_recipe_option_starts_every_expert_from_one_projection(tmp_path):
    """``init_experts_from_one``: the paper's stage-I initialisation of the UPM experts."""
    corpus = build_corpus(tmp_path, {"pics": (2, "image", False)})
    for option in (True, False):
        spec = {"name": "e", "init_experts_from_one": option, "model": {"preset": "tiny"},
                "trainable": ["tokenizers", "upm"], "frozen": ["clip", "llm"], "tokenizer": str(DEMO_TOKENIZER),
                "data": {"corpus": str(corpus), "mix": [{"source": "pics"}], "seq_len": 32, "batch_size": 1},
                "optim": {"lr": 1e-3}, "schedule": {"max_steps": 1}}
        path = tmp_path / f"e{option}.yaml"
        path.write_text(yaml.safe_dump(spec))
        model, _ = build_model(load_recipe(path), corpus, seed=0, log=lambda _: None)
        experts = [e.state_dict() for e in model.llma.resample_layers.values()]
        same = all(torch.equal(experts[0][k], e[k]) for e in experts[1:] for k in experts[0])
        assert len(experts) > 1 and same == option


def test_previous_stage_saved_with_another_config_is_an_error(tmp_path):
    """``init_from`` a stage whose model.pt config differs from the recipe's (here only a head count, which no
    weight shape shows) stops the run instead of loading silently."""
    corpus = build_corpus(tmp_path, {"pics": (2, "image", False)})
    previous = tmp_path / "stage1"
    previous.mkdir()
    save_model(OneLLM(preset("tiny", upm_heads=4)), previous / "model.pt")
    spec = {"name": "s2", "init_from": str(previous), "model": {"preset": "tiny"}, "trainable": ["upm"],
            "frozen": ["clip", "llm"], "tokenizer": str(DEMO_TOKENIZER),
            "data": {"corpus": str(corpus), "mix": [{"source": "pics"}], "seq_len": 32, "batch_size": 1},
            "optim": {"lr": 1e-3}, "schedule": {"max_steps": 1}}
    path = tmp_path / "s2.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(CheckpointError, match=r"upm_heads: saved 4 vs model 2"):
        build_model(load_recipe(path), corpus, log=lambda _: None)
    spec["model"]["overrides"] = {"upm_heads": 4}  # the same config: loads
    path.write_text(yaml.safe_dump(spec))
    model, _ = build_model(load_recipe(path), corpus, log=lambda _: None)
    assert model.cfg.upm_heads == 4
