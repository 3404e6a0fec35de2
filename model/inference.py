"""A trained model and its text tokenizer, ready for eval and chat, from whatever weights file the user has.

Accepted ``weights``:

- our full-model file written by ``model.checkpoint.save_model`` (``{"config": ..., "model": state dict}``;
  the training command writes it as ``<out_dir>/model.pt``), or a training output directory holding ``model.pt``;
- OneLLM's released ``consolidated.00-of-01.pth`` (a bare ``llma.*`` state dict), or a directory holding it.
  The file has no config: ``preset`` picks the architecture (default ``onellm-7b``).

The model is built on the meta device and takes the memory-mapped tensors of the file (cast to ``dtype``), so a
7B checkpoint is read once and never initialised randomly first. Every key must match (strict), and problems
name the file. The tokenizer is ``tokenizer`` if given, else a ``tokenizer.model`` next to the weights, else the
tokenizer named in the training output's ``stage.json``, else the bundled demo tokenizer when the model's
vocabulary has its size (the tiny preset's). The prompt format (chat or caption) is the one the run trained on,
recorded in ``stage.json``; OneLLM's release and a model without ``stage.json`` are chat models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from model.checkpoint import IGNORED_RELEASE_KEYS, CheckpointError, check_keys, load_strict
from model.config import ModelConfig, preset as make_preset
from model.llama import rope_tables
from model.onellm import OneLLM
from model.release_layout import release_keys
from model.run_files import CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE, MODEL_FILE, RELEASE_FILE, STAGE_FILE
from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer
from model.weight_files import looks_like_release, read_release
from onellm_data.errors import SettingError
from onellm_data.recipes import FORMATS

TOKENIZER_FILE = "tokenizer.model"
TRAINING_CHECKPOINT = ("a training checkpoint (trainable weights, optimiser and loader state, for --resume); "
                       f"eval and chat read the full model {MODEL_FILE} that training writes when it finishes")
DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class WeightsInfo:
    """What was loaded: ``kind`` is ``model`` (our file) or ``release`` (OneLLM's)."""

    kind: str
    path: Path
    config: ModelConfig
    tokenizer: Path
    device: torch.device
    dtype: torch.dtype
    format: str = "chat"  # the prompt format the weights were trained on (onellm_data.recipes.FORMATS)


def resolve_weights_path(weights: Path | str) -> Path:
    """The weights file itself: ``weights`` if a file, else ``model.pt`` or the release file inside it."""
    path = Path(weights)
    if not path.exists():
        raise CheckpointError(f"weights not found: {path}")
    if path.is_file():
        return path
    for name in (MODEL_FILE, RELEASE_FILE):
        if (path / name).is_file():
            return path / name
    if looks_like_release(path):  # sharded: consolidated.*.pth ranks or pieces, safetensors (+ index)
        return path
    hint = ""
    training = [n for n in (CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE) if (path / n).is_file()]
    if training:
        hint = f" It has {training[0]}, {TRAINING_CHECKPOINT}."
    elif any(path.glob("consolidated.*.pth")) and (path / "params.json").is_file():
        hint = " It looks like a Meta LLaMA-2 checkpoint (the decoder alone, no multimodal parts): train from it first."
    raise CheckpointError(f"no model in {path}: expected {MODEL_FILE} (written by `onellm-data train`) or "
                          f"OneLLM's {RELEASE_FILE}.{hint}")


def read_weights(path: Path) -> tuple[str, ModelConfig | None, Mapping[str, torch.Tensor]]:
    """(kind, saved config or None, state dict) of a weights file, memory-mapped, without running code."""
    if path.is_dir() or path.name.endswith(".index.json") or path.suffix == ".safetensors":
        return "release", None, read_release(path)
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            obj = torch.load(path, map_location="cpu", weights_only=True)  # old non-zip pickles cannot be mapped
    except Exception as exc:  # noqa: BLE001 - unpickling errors come in many types
        if path.name in (CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE):
            raise CheckpointError(f"{path}: {TRAINING_CHECKPOINT}") from exc
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: "
                              f"{str(exc)[:200]})") from exc
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: expected a state dict or a saved model, found {type(obj).__name__}")
    if "config" in obj and "model" in obj and isinstance(obj["model"], Mapping):
        try:
            config = ModelConfig(**obj["config"])
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: saved model config is invalid ({exc})") from exc
        return "model", config, obj["model"]
    keys = list(obj)
    if keys and all(isinstance(k, str) and k.startswith("llma.") for k in keys):
        return "release", None, obj
    shown = ", ".join(map(str, keys[:8])) + (" ..." if len(keys) > 8 else "")
    what = TRAINING_CHECKPOINT if "optimizer" in obj else "not a OneLLM model"
    raise CheckpointError(f"{path}: {what}. Expected a file written by save_model (keys 'config', 'model') or "
                          f"OneLLM's {RELEASE_FILE} (keys 'llma.*'); found keys: {shown}")


def pick_device(device: str | torch.device | None) -> torch.device:
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SettingError(f"device {device} requested but CUDA is not available")
    return dev


def pick_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """``auto``: bf16 on a GPU that has it (fp16 otherwise), fp32 on CPU."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in DTYPES:
        raise SettingError(f"unknown dtype {dtype!r}; use auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def _config_for(kind: str, saved: ModelConfig | None, preset: str | None, path: Path) -> ModelConfig:
    if kind == "release":
        return make_preset(preset or "onellm-7b")
    assert saved is not None
    if preset is not None:
        wanted = make_preset(preset)
        diff = sorted(k for k, v in wanted.to_dict().items() if saved.to_dict()[k] != v)
        if diff:
            raise CheckpointError(f"{path} was saved with its own config, which differs from preset {preset!r} in "
                                  f"{', '.join(diff[:8])}: drop --preset (the file's config is used)")
    return saved


def read_stage(weights_file: Path) -> dict:
    """The ``stage.json`` a training run wrote beside its ``model.pt`` (empty when there is none)."""
    stage = weights_file.parent / STAGE_FILE
    if not stage.is_file():
        return {}
    try:
        data = json.loads(stage.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{stage}: unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{stage}: expected a JSON object")
    return data


def trained_format(weights_file: Path, kind: str) -> str:
    """How the weights were trained: the run's recorded format; OneLLM's release was instruction-tuned (chat)."""
    fmt = read_stage(weights_file).get("format", "chat") if kind == "model" else "chat"
    if fmt not in FORMATS:
        raise CheckpointError(f"{weights_file.parent / 'stage.json'}: unknown format {fmt!r} (known: {FORMATS})")
    return fmt


def find_tokenizer(weights_file: Path, config: ModelConfig, tokenizer: Path | str | None = None) -> Path:
    """The tokenizer to use with these weights (see the module doc for the order)."""
    if tokenizer is not None:
        path = Path(tokenizer)
        if not path.is_file():
            raise CheckpointError(f"tokenizer not found: {path}")
        return path
    beside = (weights_file if weights_file.is_dir() else weights_file.parent) / TOKENIZER_FILE
    if beside.is_file():
        return beside
    named = read_stage(weights_file).get("tokenizer")
    if named and Path(named).is_file():
        return Path(named)
    if config.vocab_size == Tokenizer(DEMO_TOKENIZER).n_words:
        return DEMO_TOKENIZER
    raise CheckpointError(f"no tokenizer for {weights_file}: pass --tokenizer (LLaMA-2's tokenizer.model for "
                          f"OneLLM weights); none next to the weights and the vocabulary ({config.vocab_size}) is "
                          "not the bundled demo tokenizer's")


def build_model(config: ModelConfig, state: Mapping[str, torch.Tensor], what: str, dtype: torch.dtype,
                device: torch.device) -> OneLLM:
    """``OneLLM(config)`` on the meta device, filled strictly from ``state`` (cast to ``dtype``), on ``device``."""
    with torch.device("meta"):
        model = OneLLM(config)
    model.to(dtype)
    # RoPE tables are not in the state dict: real fp32 values (dtype casts would cost precision at far positions)
    cos, sin = rope_tables(config.head_dim, config.rope_positions, config.rope_theta)
    model.llma.rope_cos, model.llma.rope_sin = cos, sin
    load_strict(model, state, what)
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise CheckpointError(f"{what}: no values for {', '.join(left[:5])}")
    model.to(device)
    model.eval()
    model.requires_grad_(False)
    return model


@dataclass(frozen=True)
class Loaded:
    model: OneLLM
    tokenizer: Tokenizer
    info: WeightsInfo


def load_inference(weights: Path | str, *, preset: str | None = None, tokenizer: Path | str | None = None,
                   device: str | torch.device | None = None, dtype: str | torch.dtype | None = None) -> Loaded:
    """The model (eval mode, no gradients), its tokenizer, and what was loaded from where."""
    path = resolve_weights_path(weights)
    kind, saved, state = read_weights(path)
    if kind == "release":
        state = {k: v for k, v in state.items() if not IGNORED_RELEASE_KEYS.match(k)}
    config = _config_for(kind, saved, preset, path)
    what = f"model file {path}" if kind == "model" else f"OneLLM checkpoint {path} (preset {preset or 'onellm-7b'})"
    check_keys(release_keys(config), state, what)  # before anything heavy: wrong preset, truncated file
    tok_path = find_tokenizer(path, config, tokenizer)
    tok = Tokenizer(tok_path)
    if tok.n_words > config.vocab_size:
        raise CheckpointError(f"tokenizer {tok_path} has {tok.n_words} pieces but the model's vocabulary has "
                              f"{config.vocab_size}: wrong --tokenizer for {path}")
    dev = pick_device(device)
    dt = pick_dtype(dtype, dev)
    model = build_model(config, state, what, dt, dev)
    return Loaded(model, tok, WeightsInfo(kind, path, config, tok_path, dev, dt, trained_format(path, kind)))


def load_inference_model(weights: Path | str, *, preset: str | None = None, tokenizer: Path | str | None = None,
                         device: str | torch.device | None = None, dtype: str | torch.dtype | None = None
                         ) -> tuple[OneLLM, Tokenizer]:
    """(model in eval mode, tokenizer); see ``load_inference`` and the module doc."""
    loaded = load_inference(weights, preset=preset, tokenizer=tokenizer, device=device, dtype=dtype)
    return loaded.model, loaded.tokenizer
