"""Reading published weights into our module names, strictly, and our own save/load.

- OneLLM release ``consolidated.00-of-01.pth`` (keys ``llma.*``) → ``OneLLM`` as is;
- Meta LLaMA-2 ``consolidated.*.pth`` shards merged by Meta's model-parallel rules → ``llma.`` decoder keys;
- Hugging Face LLaMA (``model.layers.N.self_attn.q_proj`` ...) → Meta names, q/k RoPE permutation undone;
- OpenAI CLIP ``visual.*`` (open_clip state dict, OpenAI's TorchScript archive, or HF ``CLIPVisionModel``).
Every file is read with ``weights_only=True`` and memory-mapped; problems raise ``CheckpointError`` naming the
missing, unexpected and misshapen keys (with both shapes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from model.config import ModelConfig, preset
from model.onellm import OneLLM
from model.weight_files import (CheckpointError, is_torchscript, read_release, read_state_dict, read_torchscript_state,
                                safe_torch_load)
from onellm_data.shards.atomic import atomic_path

Tensor = torch.Tensor
# In the release file but not in the model: open_clip's text tower remnants (OneLLM only sets
# clip.transformer = None) and RoPE tables some LLaMA exports carry.
IGNORED_RELEASE_KEYS = re.compile(
    r"^llma\.(clip\.(token_embedding\.|positional_embedding$|ln_final\.|text_projection$|logit_scale$|attn_mask$)"
    r"|rope\.freqs$|freqs_cis$)")


def check_keys(expected: Mapping[str, tuple[int, ...]], state: Mapping[str, Tensor], what: str) -> None:
    """Raise listing missing, unexpected and misshapen keys; silent when ``state`` fits ``expected`` exactly."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    bad = [f"{k}: checkpoint {list(state[k].shape)} vs model {list(expected[k])}"
           for k in sorted(set(expected) & set(state)) if tuple(state[k].shape) != tuple(expected[k])]
    if missing or unexpected or bad:
        lines = [f"{what} does not match the model:"]
        for title, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", bad)):
            if items:
                more = f" (+{len(items) - 20} more)" if len(items) > 20 else ""
                lines.append(f"  {title} ({len(items)}): " + ", ".join(items[:20]) + more)
        raise CheckpointError("\n".join(lines))


def load_strict(model: nn.Module, state: Mapping[str, Tensor], what: str) -> None:
    """Check then load; tensors are cast to each parameter's dtype. A model built on the meta device takes the
    (memory-mapped) tensors themselves instead of copying them."""
    own = model.state_dict()
    check_keys({k: tuple(v.shape) for k, v in own.items()}, state, what)
    assign = any(v.is_meta for v in own.values())
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True, assign=assign)


# --- OneLLM release -------------------------------------------------------------------------------------------

def load_onellm_release(model: nn.Module, path: Path | str) -> None:
    """OneLLM's weights into ``model`` (an ``OneLLM``), every model key required. ``path`` is
    ``consolidated.00-of-01.pth``, a folder of sharded files, or a safetensors index (see ``release_layout``)."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    state = {k: v for k, v in read_release(path, expected).items() if not IGNORED_RELEASE_KEYS.match(k)}
    load_strict(model, state, f"OneLLM checkpoint {path}")


# --- Meta LLaMA-2 ---------------------------------------------------------------------------------------------

def merge_meta_shards(shards: list[Mapping[str, Tensor]]) -> dict[str, Tensor]:
    """Meta's model-parallel files → one state dict: 1-D replicated; embeddings, wo, w2 split on dim 1; rest dim 0."""
    merged: dict[str, Tensor] = {}
    for key in shards[0]:
        if key == "rope.freqs":
            continue
        parts = [s[key] for s in shards]
        if len(parts) == 1 or parts[0].dim() == 1:
            merged[key] = parts[0]
        else:
            dim = 1 if key.startswith("tok_embeddings.") or key.endswith(("attention.wo.weight",
                                                                           "feed_forward.w2.weight")) else 0
            merged[key] = torch.cat(parts, dim=dim)
    return merged


def read_meta_llama(directory: Path | str) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """A Meta LLaMA-2 checkpoint dir → (merged state dict with Meta names, ``params.json``)."""
    directory = Path(directory)
    files = sorted(directory.glob("consolidated.*.pth"))
    if not files:
        raise CheckpointError(f"no consolidated.*.pth in {directory}")
    params_file = directory / "params.json"
    params = json.loads(params_file.read_text()) if params_file.exists() else {}
    return merge_meta_shards([read_state_dict(f) for f in files]), params


def config_from_meta_params(params: Mapping[str, Any], base: ModelConfig | None = None,
                            vocab_size: int = 32000) -> ModelConfig:
    """``params.json`` fields onto ``base`` (default onellm-7b); ``vocab_size: -1`` means the tokenizer's 32000."""
    fields = {k: params[k] for k in ("dim", "n_layers", "n_heads", "n_kv_heads", "multiple_of",
                                     "ffn_dim_multiplier", "norm_eps") if k in params}
    v = params.get("vocab_size", -1)
    fields["vocab_size"] = vocab_size if v in (None, -1) else v
    return (base or preset("onellm-7b")).replace(**fields)


def load_meta_llama(model: nn.Module, directory: Path | str) -> None:
    """Meta LLaMA-2 weights into the decoder part of an ``OneLLM`` (other parts untouched), strictly."""
    state, _ = read_meta_llama(directory)
    load_decoder(model, state, f"Meta LLaMA-2 checkpoint {directory}")


def load_decoder(model: nn.Module, state: Mapping[str, Tensor], what: str) -> None:
    """Meta-named decoder weights into ``model.llma`` (or a bare ``Llama``); every decoder key required."""
    target = getattr(model, "llma", model)
    own = {k: v for k, v in target.state_dict().items() if k.startswith(("tok_embeddings.", "layers.", "norm.",
                                                                          "output."))}
    check_keys({k: tuple(v.shape) for k, v in own.items()}, state, what)
    target.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)


# --- Hugging Face LLaMA ---------------------------------------------------------------------------------------

def _permute(w: Tensor, heads: int, inverse: bool) -> Tensor:
    """HF stores q/k rows per head as [even dims; odd dims] (rotate-half RoPE); Meta interleaves them."""
    rows, cols = w.shape
    half = rows // heads // 2
    if inverse:  # HF → Meta
        return w.view(heads, 2, half, cols).transpose(1, 2).reshape(rows, cols)
    return w.view(heads, half, 2, cols).transpose(1, 2).reshape(rows, cols)


_HF_LAYER = {"self_attn.q_proj": "attention.wq", "self_attn.k_proj": "attention.wk", "self_attn.v_proj": "attention.wv",
             "self_attn.o_proj": "attention.wo", "mlp.gate_proj": "feed_forward.w1", "mlp.down_proj": "feed_forward.w2",
             "mlp.up_proj": "feed_forward.w3", "input_layernorm": "attention_norm",
             "post_attention_layernorm": "ffn_norm"}
_HF_TOP = {"model.embed_tokens.weight": "tok_embeddings.weight", "model.norm.weight": "norm.weight",
           "lm_head.weight": "output.weight"}


def _rename_llama(state: Mapping[str, Tensor], n_heads: int, n_kv_heads: int | None, to_meta: bool
                  ) -> dict[str, Tensor]:
    """HF ↔ Meta LLaMA names; q/k rows are permuted between HF's rotary layout and Meta's on the way."""
    top = _HF_TOP if to_meta else {v: k for k, v in _HF_TOP.items()}
    layer = _HF_LAYER if to_meta else {v: k for k, v in _HF_LAYER.items()}
    source, target, kind = ("model.layers", "layers", "Hugging Face") if to_meta else ("layers", "model.layers", "Meta")
    heads = {"attention.wq": n_heads, "attention.wk": n_kv_heads or n_heads}
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        if to_meta and key.endswith("rotary_emb.inv_freq"):
            continue
        if key in top:
            out[top[key]] = value
            continue
        m = re.fullmatch(rf"{re.escape(source)}\.(\d+)\.(.+)\.weight", key)
        if not m or m.group(2) not in layer:
            raise CheckpointError(f"unexpected {kind} LLaMA key: {key}")
        meta_name = layer[m.group(2)] if to_meta else m.group(2)
        if meta_name in heads:
            value = _permute(value, heads[meta_name], inverse=to_meta)
        out[f"{target}.{m.group(1)}.{layer[m.group(2)]}.weight"] = value
    return out


def hf_llama_to_meta(state: Mapping[str, Tensor], n_heads: int, n_kv_heads: int | None = None) -> dict[str, Tensor]:
    """HF ``LlamaForCausalLM`` state dict → Meta names, q/k permutation undone (rotary inv_freq dropped)."""
    return _rename_llama(state, n_heads, n_kv_heads, to_meta=True)


def meta_llama_to_hf(state: Mapping[str, Tensor], n_heads: int, n_kv_heads: int | None = None) -> dict[str, Tensor]:
    """Meta names → HF names with HF's q/k permutation applied (the inverse of ``hf_llama_to_meta``)."""
    return _rename_llama(state, n_heads, n_kv_heads, to_meta=False)


def read_hf_llama(directory: Path | str) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """A Hugging Face LLaMA folder (``*.safetensors`` or ``pytorch_model*.bin`` + ``config.json``) → Meta names."""
    directory = Path(directory)
    config = json.loads((directory / "config.json").read_text()) if (directory / "config.json").exists() else {}
    state: dict[str, Tensor] = {}
    files = sorted(directory.glob("*.safetensors"))
    if files:
        from safetensors.torch import load_file  # installed with transformers

        for f in files:
            state |= load_file(str(f))
    else:
        for f in sorted(directory.glob("pytorch_model*.bin")):
            state |= read_state_dict(f)
    if not state:
        raise CheckpointError(f"no *.safetensors or pytorch_model*.bin in {directory}")
    heads = config.get("num_attention_heads")
    if heads is None:
        raise CheckpointError(f"{directory}/config.json lacks num_attention_heads (needed to undo the q/k permutation)")
    return hf_llama_to_meta(state, heads, config.get("num_key_value_heads", heads)), config


def load_hf_llama(model: nn.Module, directory: Path | str) -> None:
    """Hugging Face LLaMA weights into the decoder part of ``model``, strictly."""
    state, _ = read_hf_llama(directory)
    load_decoder(model, state, f"Hugging Face LLaMA checkpoint {directory}")


# --- OpenAI CLIP ----------------------------------------------------------------------------------------------

def read_clip_visual(path: Path | str) -> dict[str, Tensor]:
    """OpenAI CLIP weights → the vision tower's state dict (keys without ``visual.``).

    Accepts open_clip / OpenAI state dicts (``visual.*``, optionally under ``module.``) and OpenAI's TorchScript
    ``ViT-L-14.pt``, whose tensors are read as data (``weight_files.read_torchscript_state``: its code never runs).
    """
    path = Path(path)
    if is_torchscript(path):
        state = read_torchscript_state(path)
    else:
        state = read_state_dict(path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    visual = {k.removeprefix("visual."): v for k, v in state.items() if k.startswith("visual.")}
    if not visual:
        raise CheckpointError(f"{path}: no visual.* keys (is this a CLIP checkpoint?)")
    return visual


def load_clip_visual(model: nn.Module, path: Path | str) -> None:
    """OpenAI CLIP's vision tower into ``model.llma.clip.visual`` (or a bare ``VisionTransformer``), strictly."""
    target = model.llma.clip.visual if hasattr(model, "llma") else model
    load_strict(target, read_clip_visual(path), f"CLIP checkpoint {path}")


def hf_clip_vision_to_openai(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """HF ``CLIPVisionModel(WithProjection)`` state dict → OpenAI ``visual`` names (q, k, v fused)."""
    s = {k.removeprefix("vision_model."): v for k, v in state.items()}
    out = {"conv1.weight": s["embeddings.patch_embedding.weight"],
           "class_embedding": s["embeddings.class_embedding"],
           "positional_embedding": s["embeddings.position_embedding.weight"]}
    for ours, theirs in (("ln_pre", "pre_layrnorm"), ("ln_post", "post_layernorm")):
        for p in ("weight", "bias"):
            out[f"{ours}.{p}"] = s[f"{theirs}.{p}"]
    if "visual_projection.weight" in s:
        out["proj"] = s["visual_projection.weight"].t()
    n_layers = len({k.split(".")[2] for k in s if k.startswith("encoder.layers.")})
    for i in range(n_layers):
        src, dst = f"encoder.layers.{i}.", f"transformer.resblocks.{i}."
        for p in ("weight", "bias"):
            out[f"{dst}attn.in_proj_{p}"] = torch.cat([s[f"{src}self_attn.{x}_proj.{p}"] for x in "qkv"])
            for ours, theirs in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"),
                                 ("ln_2", "layer_norm2"), ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
                out[f"{dst}{ours}.{p}"] = s[f"{src}{theirs}.{p}"]
    return out


# --- our own checkpoints --------------------------------------------------------------------------------------

# Fields that change no weight's meaning: a model file may be loaded with another value (e.g. a longer context).
RUNTIME_CONFIG_FIELDS = frozenset({"max_seq_len"})


def config_differences(saved: Mapping[str, Any], cfg: ModelConfig) -> list[str]:
    """Architecture fields where a saved config differs from ``cfg`` (head counts are not visible in shapes)."""
    current = cfg.to_dict()
    unknown = sorted(set(saved) - set(current))
    diffs = [f"{k}: saved {saved[k]!r} vs model {current[k]!r}" for k in current
             if k not in RUNTIME_CONFIG_FIELDS and k in saved and saved[k] != current[k]]
    return diffs + [f"{k}: unknown field in the saved config" for k in unknown]


def check_config(saved: Mapping[str, Any], cfg: ModelConfig, what: str) -> None:
    """Raise unless ``saved`` describes the same architecture as ``cfg``."""
    diffs = config_differences(saved, cfg)
    if diffs:
        raise CheckpointError(f"{what} was saved for another model configuration:\n  " + "\n  ".join(diffs))


def save_model(model: nn.Module, path: Path | str, state: dict[str, Tensor] | None = None) -> None:
    """Config + full state dict (keys as the release, so the file is also a valid ``load_onellm_release`` input),
    written atomically: a crash leaves the old file or the whole new one. ``state``: the model's weights already
    gathered (``model.full_state``, for a sharded model); by default its own ``state_dict``."""
    with atomic_path(Path(path)) as tmp:
        torch.save({"config": model.cfg.to_dict(), "model": model.state_dict() if state is None else state}, tmp)


def read_model_file(path: Path | str) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """(saved config dict, state dict) of a file written by ``save_model``; never runs code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    obj = safe_torch_load(path)
    if not isinstance(obj, Mapping) or not isinstance(obj.get("config"), Mapping) \
            or not isinstance(obj.get("model"), Mapping):
        raise CheckpointError(f"{path}: not a model saved by save_model (needs 'config' and 'model')")
    return dict(obj["config"]), dict(obj["model"])


def load_model_into(model: nn.Module, path: Path | str, what: str = "model file") -> None:
    """Weights of a ``save_model`` file into an existing ``OneLLM``, after checking the saved config."""
    config, state = read_model_file(path)
    check_config(config, model.cfg, f"{what} {path}")
    load_strict(model, state, f"{what} {path}")


def load_model(path: Path | str, **overrides: Any) -> nn.Module:
    """An ``OneLLM`` rebuilt from its saved config and weights."""
    config, state = read_model_file(path)
    try:
        cfg = ModelConfig(**config).replace(**overrides)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: saved model config is invalid ({exc})") from exc
    model = OneLLM(cfg)
    load_strict(model, state, f"model file {path}")
    return model
