"""Training checkpoints in a format that cannot run code: one ``checkpoint.safetensors`` file holding every
tensor (trainable weights, optimiser moments, torch/CUDA RNG states) and, in its metadata, a JSON tree with the
rest (step, loader position, Python/NumPy RNG states, optimiser hyper-parameters, the resolved recipe, history).

A pickle can execute arbitrary code when loaded, and a user can be handed a swapped ``OUT`` folder, so nothing
here is ever unpickled. Writes are atomic (``onellm_data.shards.atomic``): a crash never leaves a checkpoint
that looks whole. A pre-safetensors ``checkpoint.pt`` is refused with an explanation, never loaded.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from model.run_files import CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE
from model.weight_files import CheckpointError
from onellm_data.shards.atomic import atomic_path

FORMAT = "onellm-train-state/1"

# JSON markers for what plain JSON cannot say; anything else that is not JSON is an error, never pickled.
_TENSOR, _TUPLE, _ITEMS, _NDARRAY = "__tensor__", "__tuple__", "__items__", "__ndarray__"


class TrainStateError(CheckpointError):
    """A training checkpoint that is missing, unreadable, or in a format that could run code."""


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --- payload <-> (tensors, JSON tree) -------------------------------------------------------------------------

def _split(obj: Any, path: str, tensors: dict[str, torch.Tensor], seen: set[int]) -> Any:
    """``obj`` as a JSON tree; tensors move to ``tensors`` under their path in the payload."""
    if isinstance(obj, torch.Tensor):
        if path in tensors:
            raise TrainStateError(f"two checkpoint entries map to the tensor name {path!r}")
        t = obj.detach().cpu().contiguous()
        ptr = t.untyped_storage().data_ptr()
        if t.numel() and ptr in seen:  # safetensors refuses shared storage: store an own copy
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        tensors[path] = t
        return {_TENSOR: path}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TrainStateError(f"checkpoint entry {path}: numpy dtype {obj.dtype} is not storable")
        return {_NDARRAY: obj.tolist(), "dtype": obj.dtype.str}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {_TUPLE: [_split(v, f"{path}/{i}", tensors, seen) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_split(v, f"{path}/{i}", tensors, seen) for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) for k in obj) and not ({_TENSOR, _TUPLE, _ITEMS, _NDARRAY} & set(obj)):
            return {k: _split(v, f"{path}/{k}", tensors, seen) for k, v in obj.items()}
        if not all(isinstance(k, (str, int)) for k in obj):
            raise TrainStateError(f"checkpoint entry {path}: dict keys must be str or int")
        return {_ITEMS: [[k, _split(v, f"{path}/{k}", tensors, seen)] for k, v in obj.items()]}
    if isinstance(obj, Path):
        return str(obj)
    raise TrainStateError(f"checkpoint entry {path}: {type(obj).__name__} cannot be stored without pickling")


def _join(tree: Any, tensors: Mapping[str, torch.Tensor], where: Path) -> Any:
    """Inverse of ``_split``."""
    if isinstance(tree, list):
        return [_join(v, tensors, where) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if _TENSOR in tree:
        name = tree[_TENSOR]
        if name not in tensors:
            raise TrainStateError(f"{where}: metadata names tensor {name!r}, which the file does not hold")
        return tensors[name]
    if _TUPLE in tree:
        return tuple(_join(v, tensors, where) for v in tree[_TUPLE])
    if _NDARRAY in tree:
        dtype = np.dtype(tree["dtype"])
        if dtype.kind not in "biuf":  # numbers only: an object array would be a way back to Python objects
            raise TrainStateError(f"{where}: array of dtype {dtype} in the training state")
        return np.asarray(tree[_NDARRAY], dtype=dtype)
    if _ITEMS in tree:
        return {k: _join(v, tensors, where) for k, v in tree[_ITEMS]}
    return {k: _join(v, tensors, where) for k, v in tree.items()}


# --- files ----------------------------------------------------------------------------------------------------

def save_checkpoint(directory: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (any tree of dicts, lists, tuples, scalars, tensors, numpy arrays) atomically."""
    tensors: dict[str, torch.Tensor] = {}
    tree = _split(payload, "", tensors, set())
    final = Path(directory) / CHECKPOINT_FILE
    with atomic_path(final) as tmp:
        save_file(tensors, str(tmp), metadata={"format": FORMAT, "state": json.dumps(tree)})
    return final


def checkpoint_file(path: Path) -> Path:
    """The checkpoint file for ``path`` (the file itself or a run directory), refusing pickled checkpoints."""
    path = Path(path)
    if path.is_dir():
        if (path / CHECKPOINT_FILE).is_file():
            return path / CHECKPOINT_FILE
        if (path / LEGACY_CHECKPOINT_FILE).is_file():
            path = path / LEGACY_CHECKPOINT_FILE
        else:
            raise TrainStateError(f"no training checkpoint ({CHECKPOINT_FILE}) in {path}")
    if path.name == LEGACY_CHECKPOINT_FILE:
        raise TrainStateError(f"{path} is a pickled checkpoint from an older version; loading it could run "
                              f"arbitrary code, so it is not read. Resume needs {CHECKPOINT_FILE}: start the "
                              "run again (or move the old file away to start fresh)")
    if not path.is_file():
        raise TrainStateError(f"no training checkpoint at {path}")
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The payload saved by ``save_checkpoint``; ``path`` is the file or its run directory. Never runs code."""
    file = checkpoint_file(path)
    try:
        with safe_open(str(file), framework="pt") as reader:
            metadata = reader.metadata() or {}
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise TrainStateError(f"{file}: not a training checkpoint in safetensors format ({exc})") from exc
    if metadata.get("format") != FORMAT or "state" not in metadata:
        raise TrainStateError(f"{file}: safetensors file without training state (format "
                              f"{metadata.get('format')!r}, expected {FORMAT!r})")
    try:
        tree = json.loads(metadata["state"])
    except json.JSONDecodeError as exc:
        raise TrainStateError(f"{file}: training state metadata is not valid JSON ({exc})") from exc
    try:
        payload = _join(tree, tensors, file)
    except (TypeError, ValueError, KeyError) as exc:
        raise TrainStateError(f"{file}: malformed training state ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict):
        raise TrainStateError(f"{file}: training state is a {type(payload).__name__}, expected a mapping")
    return payload
