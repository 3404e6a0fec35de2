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


def _release_state(cfg, seed: int = 3) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=g) for k, shape in release_keys(cfg).items()}


def _meta_dim(key: str) -> int | None:
    """How Meta's (fairscale) model parallelism splits a decoder tensor; None = replicated."""
    name = key.removeprefix("llma.")
    if name == "tok_embeddings.weight" or (name.startswith("layers.") and name.endswith(("wo.weight", "w2.weight"))):
        return 1
    if name == "output.weight" or (name.startswith("layers.") and name.endswith(
            ("wq.weight", "wk.weight", "wv.weight", "w1.weight", "w3.weight"))):
        return 0
    return None


@pytest.mark.parametrize("split_upm", [False, True])
def test_model_parallel_release_ranks_merge(tmp_path, split_upm: bool) -> None:
    """consolidated.00-of-02.pth + 01-of-02.pth (+ params.json, as OneLLM's folder has) load as one model."""
    from model.inference import load_inference
    from model.train import _init_kind

    cfg = preset("tiny")
    full = _release_state(cfg)
    ranks: list[dict] = [{}, {}]
    for key, value in full.items():
        dim = _meta_dim(key)
        if split_upm and key.endswith("resample_layers.0.0.attention.wq.weight"):
            dim = 0  # a parallel layer outside the decoder: merged by shape
        parts = [value, value] if dim is None else value.chunk(2, dim=dim)
        for rank, part in zip(ranks, parts):
            rank[key] = part.clone().to(torch.bfloat16)
    for i, rank in enumerate(ranks):
        torch.save(rank, tmp_path / f"consolidated.0{i}-of-02.pth")
    (tmp_path / "params.json").write_text(json.dumps({"dim": 64, "n_layers": 2, "n_heads": 4}))
    model = OneLLM(cfg)
    load_onellm_release(model, tmp_path)
    own = model.state_dict()
    assert all(torch.equal(own[k], v.to(torch.bfloat16).float()) for k, v in full.items())
    assert _init_kind(tmp_path) == ("release", tmp_path)
    if not split_upm:  # without the model's shapes, Meta's rules by name
        loaded = load_inference(tmp_path, preset="tiny", dtype="fp32", device="cpu")
        assert torch.equal(loaded.model.llma.output.weight, full["llma.output.weight"].to(torch.bfloat16).float())


def test_release_pieces_join_and_overlap_is_an_error(tmp_path) -> None:
    """The HF backups' consolidated.00-of-01.s{0..9}.pth: key-disjoint pieces of one state dict."""
    cfg = preset("tiny")
    full = _release_state(cfg)
    keys = list(full)
    for i in range(4):
        torch.save({k: full[k] for k in keys[i::4]}, tmp_path / f"consolidated.00-of-01.s{i}.pth")
    model = OneLLM(cfg)
    load_onellm_release(model, tmp_path)
    assert torch.equal(model.state_dict()["llma.norm.weight"], full["llma.norm.weight"])
    torch.save({keys[0]: full[keys[0]]}, tmp_path / "consolidated.00-of-01.s9.pth")
    with pytest.raises(CheckpointError, match="in both"):
        load_onellm_release(OneLLM(cfg), tmp_path)


def test_safetensors_index_release(tmp_path) -> None:
    from safetensors.torch import save_file

    cfg = preset("tiny")
    full = _release_state(cfg)
    keys = sorted(full)
    halves = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2],
              "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
    for name, part in halves.items():
        save_file({k: full[k].contiguous() for k in part}, str(tmp_path / name))
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": {k: n for n, ks in halves.items() for k in ks}}))
    for where in (index, tmp_path):
        model = OneLLM(cfg)
        load_onellm_release(model, where)
        assert torch.equal(model.state_dict()[keys[-1]], full[keys[-1]])
    index.write_text(json.dumps({"weight_map": {keys[0]: "model-00001-of-00002.safetensors"}}))
    with pytest.raises(CheckpointError, match="does not list"):
        load_onellm_release(OneLLM(cfg), index)


def test_saved_config_is_checked_on_load(tmp_path) -> None:
    """Head counts change no shape: a model saved with other heads must not load silently."""
    from model.checkpoint import load_model_into

    save_model(OneLLM(preset("tiny", n_layers=1, upm_heads=2)), tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match=r"upm_heads: saved 2 vs model 4"):
        load_model_into(OneLLM(preset("tiny", n_layers=1, upm_heads=4)), tmp_path / "model.pt")
    load_model_into(OneLLM(preset("tiny", n_layers=1, upm_heads=2, max_seq_len=1024)), tmp_path / "model.pt")


def test_training_checkpoint_config_is_checked_on_resume(tmp_path) -> None:
    from model.optim import OptimConfig
    from model.trainer import TrainConfig, Trainer

    saved = OneLLM(preset("tiny", n_layers=1, n_heads=2))
    cfg = TrainConfig(out_dir=tmp_path, max_steps=1, optim=OptimConfig())
    Trainer(saved, [], cfg, log=lambda _: None).save()
    with pytest.raises(CheckpointError, match=r"n_heads: saved 2 vs model 4"):
        Trainer(OneLLM(preset("tiny", n_layers=1)), [], cfg, log=lambda _: None).resume(tmp_path)


def test_every_weights_file_is_read_weights_only_and_memory_mapped(tmp_path, monkeypatch) -> None:
    """Release files, Meta shards and our model files all go through torch.load(weights_only=True, mmap=True)."""
    from model.checkpoint import load_model_into

    cfg = preset("tiny", n_layers=1)
    release, _ = release_file(tmp_path, cfg)
    meta = tmp_path / "meta"
    meta.mkdir()
    torch.save({k: torch.zeros(s) for k, s in llama_keys(cfg).items()}, meta / "consolidated.00.pth")
    (meta / "params.json").write_text(json.dumps({"dim": 64, "n_layers": 1, "n_heads": 4}))
    save_model(OneLLM(cfg), tmp_path / "model.pt")
    calls: list[dict] = []
    real = torch.load

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording)
    load_onellm_release(OneLLM(cfg), release)
    load_meta_llama(OneLLM(cfg), meta)
    load_model_into(OneLLM(cfg), tmp_path / "model.pt")
    assert len(calls) == 3
    assert all(c.get("weights_only") is True and c.get("mmap") is True for c in calls), calls
