"""Weight files on disk, read without running code: single ``.pth`` / ``.safetensors`` files and the sharded
layouts OneLLM-7B is found in.

- ``read_state_dict``: one ``.pth`` through ``torch.load(weights_only=True)`` (memory-mapped), or one
  ``.safetensors`` file; anything that would need code to rebuild is refused with an error naming the file.
- ``read_torchscript_state``: the tensors of a TorchScript archive (OpenAI's ``ViT-L-14.pt``) read as data:
  its pickle is unpickled with only tensor rebuilding allowed and its TorchScript code is never compiled or run.
- ``read_release``: OneLLM's weights as one state dict from a single file, a safetensors index
  (``*.safetensors.index.json``: ``weight_map`` key → file), a folder of safetensors files, or a folder of
  ``consolidated.*.pth`` files: pieces of one state dict (``consolidated.00-of-01.s{0..9}.pth``, as the HF
  backups split it) are joined, and model-parallel ranks (``consolidated.{rank:02d}-of-{n:02d}.pth``) are merged:
  a tensor whose ranks all have the model's shape is replicated, the others are concatenated along the one
  dimension whose sizes add up to the model's; without the model's shapes, Meta's rules by name (embeddings,
  ``wo`` and ``w2`` on dim 1, ``wq wk wv w1 w3`` and ``output`` on dim 0, the rest replicated).
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from onellm_data.errors import OnellmDataError

Tensor = torch.Tensor
Shapes = Mapping[str, tuple[int, ...]]
_PTH = re.compile(r"consolidated\.(\d+)(?:-of-(\d+))?(?:\.s(\d+))?\.pth$")


class CheckpointError(OnellmDataError, RuntimeError):
    """A weights file that cannot be read, or a state dict that does not fit the model."""


def safe_torch_load(path: Path) -> Any:
    """``torch.load`` restricted to tensors and plain containers (memory-mapped when the format allows)."""
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            return torch.load(path, map_location="cpu", weights_only=True)  # old non-zip pickles cannot be mapped
    except Exception as exc:  # noqa: BLE001 - the restricted unpickler raises several types for refused content
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
        why = next((ln for ln in lines if "WeightsUnpickler error" in ln), lines[0])
        raise CheckpointError(f"{path}: not a weights file that loads without running code ({why[:300]})") from exc


def read_state_dict(path: Path | str) -> dict[str, Tensor]:
    """A state dict from one ``.pth`` (``{"model": ...}`` wrappers unwrapped) or ``.safetensors`` file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    obj = safe_torch_load(path)
    for wrapper in ("model", "state_dict"):
        if isinstance(obj, Mapping) and wrapper in obj and isinstance(obj[wrapper], Mapping):
            obj = obj[wrapper]
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: expected a state dict, found {type(obj).__name__}")
    return dict(obj)


def _join(pieces: list[tuple[Path, Mapping[str, Tensor]]]) -> dict[str, Tensor]:
    """Key-disjoint pieces of one state dict → the state dict; a key in two pieces is an error."""
    out: dict[str, Tensor] = {}
    seen: dict[str, Path] = {}
    for path, piece in pieces:
        for key, value in piece.items():
            if key in seen:
                raise CheckpointError(f"{key} is in both {seen[key]} and {path}: not pieces of one state dict")
            seen[key], out[key] = path, value
    return out


def _read_index(index: Path) -> dict[str, Tensor]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        files = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{index}: not a safetensors index with a weight_map ({exc})") from exc
    for name in files:
        if Path(name).name != name:
            raise CheckpointError(f"{index}: weight_map names {name!r}, not a file beside the index")
    state = _join([(index.parent / f, read_state_dict(index.parent / f)) for f in files])
    listed = set(weight_map)
    if set(state) != listed:
        raise CheckpointError(f"{index}: the files hold {len(set(state) - listed)} keys the index does not list "
                              f"and lack {len(listed - set(state))} it lists")
    return state


def _meta_split_dim(key: str) -> int | None:
    """Meta's model-parallel rule by name (``llma.`` prefix allowed): None for a replicated tensor."""
    name = key.removeprefix("llma.")
    if name == "tok_embeddings.weight" or name.endswith(("attention.wo.weight", "feed_forward.w2.weight")):
        return 1 if name.startswith(("tok_embeddings.", "layers.")) else None
    if name == "output.weight" or (name.startswith("layers.") and name.endswith(
            ("attention.wq.weight", "attention.wk.weight", "attention.wv.weight", "feed_forward.w1.weight",
             "feed_forward.w3.weight"))):
        return 0
    return None


def merge_parallel(ranks: list[Mapping[str, Tensor]], expected: Shapes | None, what: str) -> dict[str, Tensor]:
    """Model-parallel ranks → one state dict. With the model's shapes, each tensor's split dimension is the one
    whose rank sizes add up to the model's (a tensor already at the model's shape is replicated); without them,
    Meta's rules by name decide."""
    merged: dict[str, Tensor] = {}
    for key in ranks[0]:
        parts = [r[key] for r in ranks if key in r]
        if len(parts) != len(ranks):
            raise CheckpointError(f"{what}: {key} is missing from some model-parallel ranks")
        want = None if expected is None else expected.get(key)
        if want is None:
            dim = _meta_split_dim(key)
        elif all(tuple(p.shape) == tuple(want) for p in parts):
            dim = None
        else:
            dims = [d for d in range(len(want)) if sum(p.shape[d] for p in parts) == want[d]
                    and all(tuple(p.shape[:d]) + tuple(p.shape[d + 1:]) == tuple(want[:d]) + tuple(want[d + 1:])
                            for p in parts)]
            if len(dims) != 1:
                raise CheckpointError(f"{what}: cannot merge {key}: rank shapes {[list(p.shape) for p in parts]} "
                                      f"vs model {list(want)}")
            dim = dims[0]
        merged[key] = parts[0] if dim is None else torch.cat(parts, dim=dim)
    return merged


def _read_pth_folder(files: list[Path], expected: Shapes | None, what: str) -> dict[str, Tensor]:
    ranks: dict[int, list[tuple[Path, Mapping[str, Tensor]]]] = {}
    for f in files:
        m = _PTH.match(f.name)
        assert m is not None
        ranks.setdefault(int(m.group(1)), []).append((f, read_state_dict(f)))
    if sorted(ranks) != list(range(len(ranks))):
        raise CheckpointError(f"{what}: model-parallel ranks {sorted(ranks)} are not 0..{len(ranks) - 1}")
    states = [_join(ranks[r]) for r in sorted(ranks)]
    return states[0] if len(states) == 1 else merge_parallel(states, expected, what)


def release_parts(path: Path | str) -> list[Path]:
    """The files a OneLLM checkpoint at ``path`` is made of (empty if it holds none)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    for group in (sorted(path.glob("*.safetensors.index.json")), sorted(path.glob("*.safetensors")),
                  sorted(f for f in path.glob("consolidated.*.pth") if _PTH.match(f.name))):
        if group:
            return group
    return []


def read_release(path: Path | str, expected: Shapes | None = None) -> dict[str, Tensor]:
    """OneLLM's weights at ``path`` (file, index or folder; see the module doc) as one state dict."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    parts = release_parts(path)
    if not parts:
        raise CheckpointError(f"no OneLLM weights at {path}: expected consolidated.*.pth, *.safetensors or a "
                              "*.safetensors.index.json")
    if parts[0].name.endswith(".index.json"):
        if len(parts) > 1:
            raise CheckpointError(f"{path}: several safetensors indexes ({', '.join(p.name for p in parts)})")
        return _read_index(parts[0])
    if parts[0].suffix == ".safetensors" or len(parts) == 1:
        return _join([(p, read_state_dict(p)) for p in parts])
    return _read_pth_folder(parts, expected, str(path))


def looks_like_release(path: Path | str) -> bool:
    """Whether ``path`` holds OneLLM weights (``llma.*`` keys) rather than a bare LLaMA; reads one file's keys."""
    parts = release_parts(path)
    if not parts:
        return False
    first = parts[0]
    if first.name.endswith(".index.json"):
        try:
            keys = list(json.loads(first.read_text(encoding="utf-8"))["weight_map"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
    else:
        keys = list(read_state_dict(first))
    return bool(keys) and all(k.startswith("llma.") for k in keys)


# --- TorchScript archives, as data ----------------------------------------------------------------------------

_STORAGE_DTYPES = {"FloatStorage": torch.float32, "HalfStorage": torch.float16, "BFloat16Storage": torch.bfloat16,
                   "DoubleStorage": torch.float64, "LongStorage": torch.int64, "IntStorage": torch.int32,
                   "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
                   "BoolStorage": torch.bool}


# TorchScript's pickler wraps typed lists and tags types with these; our versions only build plain values.
_JIT_BUILDERS: dict[str, Any] = {"build_intlist": list, "build_doublelist": list, "build_boollist": list,
                                 "build_tensorlist": list, "restore_type_tag": lambda value, _type: value}


class _ScriptObject:
    """A TorchScript module's attributes (submodules, parameters, flags), kept as plain data."""


def _rebuild_tensor(storage: Tensor, offset: int, size: tuple, stride: tuple, *_: Any) -> Tensor:
    return storage.as_strided(tuple(size), tuple(stride), offset)


class _ArchiveUnpickler(pickle.Unpickler):
    """Builds TorchScript objects as ``_ScriptObject`` and tensors from the archive's storages; any other global
    (a function that could run code) is refused."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str, path: Path) -> None:
        super().__init__(zf.open(f"{prefix}data.pkl"))
        self.zf, self.prefix, self.path = zf, prefix, path
        self.storages: dict[str, Tensor] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "__torch__" or module.startswith("__torch__."):
            return _ScriptObject
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch.jit._pickle" and name in _JIT_BUILDERS:
            return _JIT_BUILDERS[name]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a weights archive")

    def persistent_load(self, pid: Any) -> Tensor:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], torch.dtype)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, dtype, key, _, _ = pid
        if key not in self.storages:
            raw = bytearray(self.zf.read(f"{self.prefix}data/{key}"))
            self.storages[key] = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        return self.storages[key]


def _flatten(obj: Any, prefix: str, out: dict[str, Tensor]) -> None:
    for name, value in vars(obj).items():
        if isinstance(value, Tensor):
            out[prefix + name] = value
        elif isinstance(value, _ScriptObject):
            _flatten(value, f"{prefix}{name}.", out)


def is_torchscript(path: Path | str) -> bool:
    path = Path(path)
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.split("/", 1)[-1].startswith("code/") for n in z.namelist())


def read_torchscript_state(path: Path | str) -> dict[str, Tensor]:
    """The parameters and buffers of a TorchScript archive by their module paths (``visual.conv1.weight``)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pkl) != 1:
                raise CheckpointError(f"{path}: not a TorchScript archive (no single <name>/data.pkl)")
            root = _ArchiveUnpickler(zf, pkl[0][: -len("data.pkl")], path).load()
    except (pickle.UnpicklingError, zipfile.BadZipFile, KeyError, ValueError, TypeError, RuntimeError,
            EOFError) as exc:
        raise CheckpointError(f"{path}: not a weights archive that loads without running code ({exc})") from exc
    if not isinstance(root, _ScriptObject):
        raise CheckpointError(f"{path}: the archive's root is a {type(root).__name__}, not a module")
    state: dict[str, Tensor] = {}
    _flatten(root, "", state)
    return state
