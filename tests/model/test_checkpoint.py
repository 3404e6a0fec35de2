"""Strict loading of the released OneLLM layout, Meta shards, CLIP files, and our own save/load."""

import json

import pytest
import torch

from model.checkpoint import (CheckpointError, load_clip_visual, load_meta_llama, load_model, load_onellm_release,
                              save_model)
from model.config import preset
from model.onellm import OneLLM
from model.release_layout import clip_visual_keys, llama_keys, release_keys


def release_file(tmp_path, cfg, drop=(), reshape=(), extra=()):
    """A tiny ``consolidated.00-of-01.pth`` written from the published key table (bf16, as released)."""
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=g).to(torch.bfloat16) for k, shape in release_keys(cfg).items()
             if k not in drop}
    for k in reshape:
        state[k] = torch.zeros(3, 3, dtype=torch.bfloat16)
    for k in extra:
        state[k] = torch.zeros(2)
    path = tmp_path / "consolidated.00-of-01.pth"
    torch.save(state, path)
    return path, state


def test_release_layout_loads_strictly(tmp_path) -> None:
    cfg = preset("tiny")
    # open_clip's text-tower leftovers are in the released file; they are dropped, everything else must fit
    path, state = release_file(tmp_path, cfg, extra=("llma.clip.logit_scale", "llma.clip.ln_final.weight"))
    model = OneLLM(cfg)
    load_onellm_release(model, path)
    own = model.state_dict()
    assert all(torch.equal(own[k], state[k].float()) for k in release_keys(cfg))
    with torch.no_grad():
        assert model(torch.tensor([[1, 2, 3]]), torch.randn(1, 6, 400), "imu").shape == (1, 3, cfg.vocab_size)


def test_missing_key_is_named(tmp_path) -> None:
    cfg = preset("tiny")
    path, _ = release_file(tmp_path, cfg, drop=("llma.start_tag.rgbd",))
    with pytest.raises(CheckpointError, match=r"missing \(1\): llma\.start_tag\.rgbd"):
        load_onellm_release(OneLLM(cfg), path)


def test_misshapen_and_unexpected_keys_are_named(tmp_path) -> None:
    cfg = preset("tiny")
    path, _ = release_file(tmp_path, cfg, reshape=("llma.norm.weight",), extra=("llma.bogus",))
    with pytest.raises(CheckpointError) as err:
        load_onellm_release(OneLLM(cfg), path)
    assert "llma.norm.weight: checkpoint [3, 3] vs model [64]" in str(err.value)
    assert "unexpected (1): llma.bogus" in str(err.value)


def test_release_built_for_other_dims_fails_clearly(tmp_path) -> None:
    path, _ = release_file(tmp_path, preset("tiny", dim=128))
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_onellm_release(OneLLM(preset("tiny")), path)


def test_meta_shards_merge_by_model_parallel_rules(tmp_path) -> None:
    cfg = preset("tiny")
    g = torch.Generator().manual_seed(1)
    full = {k: torch.randn(s, generator=g) for k, s in llama_keys(cfg).items()}
    shards = [{}, {}]
    for k, v in full.items():
        if v.dim() == 1:
            parts = [v, v]
        else:
            dim = 1 if k.startswith("tok_embeddings") or k.endswith(("wo.weight", "w2.weight")) else 0
            parts = v.chunk(2, dim=dim)
        for shard, part in zip(shards, parts):
            shard[k] = part.clone()
    shards[0]["rope.freqs"] = torch.zeros(cfg.head_dim // 2)
    for i, shard in enumerate(shards):
        torch.save(shard, tmp_path / f"consolidated.0{i}.pth")
    (tmp_path / "params.json").write_text(json.dumps({"dim": 64, "n_layers": 2, "n_heads": 4, "vocab_size": -1}))
    model = OneLLM(cfg)
    load_meta_llama(model, tmp_path)
    own = model.state_dict()
    assert all(torch.equal(own[f"llma.{k}"], v) for k, v in full.items())


def test_clip_visual_from_open_clip_state_dict(tmp_path) -> None:
    cfg = preset("tiny")
    g = torch.Generator().manual_seed(2)
    visual = {f"visual.{k}": torch.randn(s, generator=g) for k, s in clip_visual_keys(cfg).items()}
    text = {"token_embedding.weight": torch.zeros(10, 4), "logit_scale": torch.tensor(1.0)}
    torch.save(visual | text, tmp_path / "clip.pt")
    model = OneLLM(cfg)
    load_clip_visual(model, tmp_path / "clip.pt")
    assert torch.equal(model.llma.clip.visual.proj, visual["visual.proj"])
    torch.save(text, tmp_path / "text.pt")
    with pytest.raises(CheckpointError, match="no visual"):
        load_clip_visual(model, tmp_path / "text.pt")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_clip_visual_from_torchscript_archive(tmp_path) -> None:
    cfg = preset("tiny")
    holder = torch.nn.Module()
    holder.visual = OneLLM(cfg).llma.clip.visual.eval()
    scripted = torch.jit.trace(holder.visual, torch.randn(1, 3, 224, 224))
    wrapper = torch.jit.script(Wrapper(scripted))
    wrapper.save(str(tmp_path / "ViT.pt"))
    model = OneLLM(cfg)
    load_clip_visual(model, tmp_path / "ViT.pt")
    assert torch.equal(model.llma.clip.visual.conv1.weight, holder.visual.conv1.weight)


class Wrapper(torch.nn.Module):
    def __init__(self, visual) -> None:
        super().__init__()
        self.visual = visual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.visual(x)


def test_save_and_load_roundtrip(tmp_path) -> None:
    model = OneLLM(preset("tiny", n_layers=1)).eval()
    save_model(model, tmp_path / "m.pth")
    again = load_model(tmp_path / "m.pth").eval()
    assert again.cfg == model.cfg
    ids = torch.tensor([[1, 9, 8]])
    with torch.no_grad():
        assert torch.equal(model(ids, None, "text"), again(ids, None, "text"))
    load_onellm_release(OneLLM(preset("tiny", n_layers=1)), tmp_path / "m.pth")  # our files use the release keys


def test_missing_file_is_clear(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_onellm_release(OneLLM(preset("tiny")), tmp_path / "nope.pth")


def test_release_loads_into_a_meta_device_model_without_copies(tmp_path) -> None:
    cfg = preset("tiny")
    path, state = release_file(tmp_path, cfg)
    with torch.device("meta"):
        model = OneLLM(cfg).to(torch.bfloat16)
    load_onellm_release(model, path)
    assert not any(p.is_meta for p in model.parameters())
    assert torch.equal(model.llma.norm.weight, state["llma.norm.weight"])
    with torch.no_grad():
        logits = model(torch.tensor([[1, 2, 3]]), torch.randn(1, 3, 224, 224), "image")
    assert torch.isfinite(logits).all()
