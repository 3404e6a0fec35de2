"""Training recipes: one YAML file per stage, loaded into typed, frozen config classes.

Errors name the file, the line and the dotted key (``recipes/x.yaml:12: data.mix[1].weight: must be >= 0``) so a
typo is found without reading the loader's code. Structure is checked by ``load_recipe``; the data mix is checked
against a corpus's index by ``check_corpus`` (or ``load_recipe(path, corpus=...)``).

Mix semantics: an entry names a ``source`` or a whole ``modality``. ``weight`` is the entry's requested share of
*samples* (omitted = its natural size: samples × subset × repeats). ``repeats`` and ``subset`` size the entry's
epoch (``sampling: epoch`` walks exactly that many samples per epoch, each batch's entry drawn at random in
proportion to the batches left). ``sampling: weighted`` draws each global batch's entry with probability
proportional to weight / batch size, forever, so sample shares converge to the weights.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from onellm_data.errors import OnellmDataError
from onellm_data.schema import MODALITIES

PARTS: tuple[str, ...] = ("tokenizers", "clip", "upm", "llm")
SAMPLING_MODES = ("weighted", "epoch")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class RecipeError(OnellmDataError):
    """A recipe that cannot be used; ``file``, ``line`` and ``key`` locate the problem."""

    def __init__(self, file: Path | str, line: int | None, key: str, message: str) -> None:
        self.file, self.line, self.key, self.message = str(file), line, key, message
        where = f"{file}:{line}" if line else f"{file}"
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


@dataclass(frozen=True)
class ModelSpec:
    preset: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MixEntry:
    source: str | None  # exactly one of source / modality
    modality: str | None
    weight: float | None = None  # None = natural size
    repeats: float = 1.0
    subset: float = 1.0  # fraction of the entry's samples kept (a fixed, key-hashed subset)
    line: int | None = None

    @property
    def name(self) -> str:
        return self.source if self.source is not None else f"modality:{self.modality}"


@dataclass(frozen=True)
class DataSpec:
    mix: tuple[MixEntry, ...]
    seq_len: int
    batch_size: dict[str, int]  # per modality, "default" for the rest
    corpus: Path | None = None
    sampling: str = "weighted"
    block_shards: int = 4  # shards whose samples are shuffled together (read locality vs mixing)
    drop_last: bool = False
    max_failures: int = 100  # consecutive unreadable samples before the run stops
    exclude_file: Path | None = None  # keys never loaded; skipped keys are appended to it
    exclude: tuple[Path, ...] = ()  # exclude lists (one key per line: dedup, contamination); never loaded

    def batch_size_for(self, modality: str) -> int:
        return self.batch_size.get(modality, self.batch_size["default"])


@dataclass(frozen=True)
class OptimSpec:
    name: str = "adamw"
    lr: float = 2e-5
    min_lr: float = 0.0
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    clip_grad: float = 2.0
    accum_steps: int = 1


@dataclass(frozen=True)
class ScheduleSpec:
    warmup_steps: int = 0  # optimizer steps
    total_steps: int | None = None  # cosine length in optimizer steps (None: the whole run)
    epochs: float | None = None
    max_steps: int | None = None


@dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    model: ModelSpec
    trainable: tuple[str, ...]
    frozen: tuple[str, ...]
    data: DataSpec
    optim: OptimSpec
    schedule: ScheduleSpec
    tokenizer: Path | None = None
    init_from: Path | None = None  # previous stage output, OneLLM release, Meta or HF LLaMA weights
    init_clip: Path | None = None  # OpenAI CLIP ViT weights (frozen encoder) when init_from lacks them
    init_new_modalities_from: str | None = None  # OneLLM's expert/tag copy from the image modality
    description: str = ""
    key_lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)  # for later errors

    @property
    def corpus(self) -> Path | None:
        return self.data.corpus

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored in training checkpoints)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        out = plain(asdict(self))
        out.pop("key_lines")
        return out


# -- YAML with line numbers ------------------------------------------------------------------------------------


def _lines(node: yaml.Node, path: str, out: dict[str, int]) -> None:
    """Map every dotted key path (``data.mix[0].weight``) to the 1-based line it is written on."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = f"{path}.{key_node.value}" if path else str(key_node.value)
            out[child] = key_node.start_mark.line + 1
            _lines(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}[{i}]"
            out[child] = item.start_mark.line + 1
            _lines(item, child, out)


class _Reader:
    """Typed access to the parsed YAML that raises ``RecipeError`` with file and line."""

    def __init__(self, file: Path, lines: dict[str, int]) -> None:
        self.file, self.lines = file, lines

    def error(self, key: str, message: str) -> RecipeError:
        line = self.lines.get(key)
        probe = key
        while line is None and probe:  # fall back to the nearest written parent
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
            line = self.lines.get(probe)
        return RecipeError(self.file, line, key, message)

    def mapping(self, value: Any, key: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping, got {type(value).__name__}")
        for name in value:
            if name not in allowed:
                child = f"{key}.{name}" if key else str(name)
                raise self.error(child, f"unknown key {name!r} (allowed: {', '.join(allowed)})")
        for name in required:
            if name not in value:
                raise self.error(key, f"missing required key {name!r}")
        return value

    def number(self, value: Any, key: str, *, minimum: float | None = None, integer: bool = False,
               positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise self.error(key, f"expected {'an integer' if integer else 'a number'}, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        if positive and value <= 0:
            raise self.error(key, f"must be > 0, got {value}")
        return value

    def string(self, value: Any, key: str, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        if choices is not None and value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def path(self, value: Any, key: str) -> Path | None:
        if value is None:
            return None
        return resolve_path(self.string(value, key))


def resolve_path(text: str) -> Path:
    """``$VARS`` expanded; a relative path is taken from the working directory, else from the project root."""
    path = Path(os.path.expandvars(os.path.expanduser(text)))
    if path.is_absolute() or path.exists() or not (PROJECT_ROOT / path).exists():
        return path
    return PROJECT_ROOT / path


# -- sections --------------------------------------------------------------------------------------------------

_TOP = ("name", "description", "init_from", "init_clip", "init_new_modalities_from", "model", "trainable", "frozen", "tokenizer",
        "data", "optim", "schedule")
_DATA = ("corpus", "mix", "seq_len", "batch_size", "sampling", "block_shards", "drop_last", "max_failures",
         "exclude_file", "exclude")
_ENTRY = ("source", "modality", "weight", "repeats", "subset")
_OPTIM = ("name", "lr", "min_lr", "weight_decay", "betas", "eps", "clip_grad", "accum_steps")
_SCHEDULE = ("warmup_steps", "total_steps", "epochs", "max_steps")


def _parts(r: _Reader, value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise r.error(key, "expected a list of model parts")
    for i, part in enumerate(value):
        r.string(part, f"{key}[{i}]", PARTS)
    return tuple(value)


def _mix_entry(r: _Reader, value: Any, key: str) -> MixEntry:
    d = r.mapping(value, key, _ENTRY)
    if ("source" in d) == ("modality" in d):
        raise r.error(key, "a mix entry names exactly one of 'source' or 'modality'")
    source = r.string(d["source"], f"{key}.source") if "source" in d else None
    modality = r.string(d["modality"], f"{key}.modality", MODALITIES) if "modality" in d else None
    weight = None if d.get("weight") is None else float(r.number(d["weight"], f"{key}.weight", minimum=0))
    repeats = float(r.number(d.get("repeats", 1.0), f"{key}.repeats", positive=True))
    subset = float(r.number(d.get("subset", 1.0), f"{key}.subset", positive=True))
    if subset > 1:
        raise r.error(f"{key}.subset", f"a fraction in (0, 1], got {subset}")
    return MixEntry(source, modality, weight, repeats, subset, r.lines.get(key))


def _data(r: _Reader, value: Any) -> DataSpec:
    d = r.mapping(value, "data", _DATA, required=("mix", "seq_len", "batch_size"))
    mix_raw = d["mix"]
    if not isinstance(mix_raw, list) or not mix_raw:
        raise r.error("data.mix", "expected a non-empty list of entries")
    mix = tuple(_mix_entry(r, item, f"data.mix[{i}]") for i, item in enumerate(mix_raw))
    names = [e.name for e in mix]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise r.error(f"data.mix[{i}]", f"{name} appears twice in the mix")
    weights = [e.weight for e in mix]
    if any(w is not None for w in weights) and any(w is None for w in weights):
        raise r.error("data.mix", "give a weight to every entry or to none (none = natural sizes)")
    if all(w is not None for w in weights) and sum(weights) <= 0:  # type: ignore[arg-type]
        raise r.error("data.mix", "all weights are zero: nothing to sample")
    bs_raw = d["batch_size"]
    if isinstance(bs_raw, int) and not isinstance(bs_raw, bool):
        batch_size = {"default": int(r.number(bs_raw, "data.batch_size", integer=True, positive=True))}
    else:
        bs = r.mapping(bs_raw, "data.batch_size", ("default", *MODALITIES), required=("default",))
        batch_size = {k: int(r.number(v, f"data.batch_size.{k}", integer=True, positive=True)) for k, v in bs.items()}
    return DataSpec(
        mix=mix,
        seq_len=int(r.number(d["seq_len"], "data.seq_len", integer=True, minimum=8)),
        batch_size=batch_size,
        corpus=r.path(d.get("corpus"), "data.corpus"),
        sampling=r.string(d.get("sampling", "weighted"), "data.sampling", SAMPLING_MODES),
        block_shards=int(r.number(d.get("block_shards", 4), "data.block_shards", integer=True, positive=True)),
        drop_last=bool(d.get("drop_last", False)),
        max_failures=int(r.number(d.get("max_failures", 100), "data.max_failures", integer=True, positive=True)),
        exclude_file=r.path(d.get("exclude_file"), "data.exclude_file"),
        exclude=tuple(r.path(p, f"data.exclude[{i}]") for i, p in enumerate(
            d["exclude"] if isinstance(d.get("exclude"), list) else [d["exclude"]] if d.get("exclude") else [])),
    )


def _optim(r: _Reader, value: Any) -> OptimSpec:
    d = r.mapping(value, "optim", _OPTIM, required=("lr",))
    betas = d.get("betas", [0.9, 0.95])
    if not isinstance(betas, list) or len(betas) != 2:
        raise r.error("optim.betas", "expected two numbers [beta1, beta2]")
    for i, b in enumerate(betas):
        if not 0 <= r.number(b, f"optim.betas[{i}]") < 1:
            raise r.error(f"optim.betas[{i}]", f"must be in [0, 1), got {b}")
    return OptimSpec(
        name=r.string(d.get("name", "adamw"), "optim.name", ("adamw",)),
        lr=float(r.number(d["lr"], "optim.lr", positive=True)),
        min_lr=float(r.number(d.get("min_lr", 0.0), "optim.min_lr", minimum=0)),
        weight_decay=float(r.number(d.get("weight_decay", 0.0), "optim.weight_decay", minimum=0)),
        betas=(float(betas[0]), float(betas[1])),
        eps=float(r.number(d.get("eps", 1e-8), "optim.eps", positive=True)),
        clip_grad=float(r.number(d.get("clip_grad", 2.0), "optim.clip_grad", positive=True)),
        accum_steps=int(r.number(d.get("accum_steps", 1), "optim.accum_steps", integer=True, positive=True)),
    )


def _schedule(r: _Reader, value: Any) -> ScheduleSpec:
    d = r.mapping(value, "schedule", _SCHEDULE)
    if d.get("epochs") is None and d.get("max_steps") is None:
        raise r.error("schedule", "give epochs or max_steps")

    def opt_int(name: str) -> int | None:
        return None if d.get(name) is None else int(r.number(d[name], f"schedule.{name}", integer=True, minimum=0))

    return ScheduleSpec(
        warmup_steps=opt_int("warmup_steps") or 0,
        total_steps=opt_int("total_steps"),
        epochs=None if d.get("epochs") is None else float(r.number(d["epochs"], "schedule.epochs", positive=True)),
        max_steps=opt_int("max_steps"),
    )


def load_recipe(path: Path | str, corpus: Path | str | None = None) -> Recipe:
    """Parse and validate a recipe; with ``corpus`` (or a recipe corpus that exists) also check its data mix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(path, None, "", f"cannot read recipe: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RecipeError(path, mark.line + 1 if mark else None, "", f"invalid YAML: {exc}") from exc
    lines: dict[str, int] = {}
    if node is not None:
        _lines(node, "", lines)
    r = _Reader(path, lines)
    d = r.mapping(raw, "", _TOP, required=("name", "model", "data", "optim", "schedule"))
    model = r.mapping(d["model"], "model", ("preset", "overrides"), required=("preset",))
    trainable, frozen = _parts(r, d.get("trainable"), "trainable"), _parts(r, d.get("frozen"), "frozen")
    both = set(trainable) & set(frozen)
    if both:
        raise r.error("frozen", f"parts both trainable and frozen: {', '.join(sorted(both))}")
    if not trainable:
        raise r.error("trainable", "no trainable part")
    new_from = d.get("init_new_modalities_from")
    recipe = Recipe(
        name=r.string(d["name"], "name"),
        path=path,
        description=str(d.get("description") or ""),
        init_from=r.path(d.get("init_from"), "init_from"),
        init_clip=r.path(d.get("init_clip"), "init_clip"),
        init_new_modalities_from=None if new_from is None else r.string(new_from, "init_new_modalities_from", MODALITIES),
        model=ModelSpec(r.string(model["preset"], "model.preset"),
                        dict(r.mapping(model.get("overrides"), "model.overrides", tuple(model.get("overrides") or ())))),
        trainable=trainable,
        frozen=frozen,
        tokenizer=r.path(d.get("tokenizer"), "tokenizer"),
        data=_data(r, d["data"]),
        optim=_optim(r, d["optim"]),
        schedule=_schedule(r, d["schedule"]),
        key_lines=lines,
    )
    if corpus is not None:
        check_corpus(recipe, Path(corpus))
    return recipe


def recipe_error(recipe: Recipe, key: str, message: str) -> RecipeError:
    return _Reader(recipe.path, recipe.key_lines).error(key, message)


def corpus_for(recipe: Recipe, corpus: Path | str | None = None) -> Path:
    """The corpus to read: the explicit one, else the recipe's; a clear error when neither exists."""
    chosen = Path(corpus) if corpus is not None else recipe.data.corpus
    if chosen is None:
        raise recipe_error(recipe, "data.corpus", "no corpus: set data.corpus or pass --corpus")
    if not (chosen / "index" / "samples.parquet").is_file():
        raise recipe_error(recipe, "data.corpus", f"missing corpus: {chosen} has no index/samples.parquet")
    return chosen


def check_corpus(recipe: Recipe, corpus: Path | str | None = None) -> Path:
    """Every mix entry must have samples in the corpus index; returns the corpus path."""
    import pyarrow.compute as pc

    from onellm_data.index import read_table

    root = corpus_for(recipe, corpus)
    table = read_table(root, "samples", columns=["source", "modality"])
    sources = set(pc.unique(table.column("source")).to_pylist())
    modalities = set(pc.unique(table.column("modality")).to_pylist())
    for i, entry in enumerate(recipe.data.mix):
        if entry.source is not None and entry.source not in sources:
            raise recipe_error(recipe, f"data.mix[{i}].source",
                               f"source {entry.source!r} is absent from the index of {root} "
                               f"(present: {', '.join(sorted(sources)) or 'none'})")
        if entry.modality is not None and entry.modality not in modalities:
            raise recipe_error(recipe, f"data.mix[{i}].modality",
                               f"no {entry.modality} samples in the index of {root}")
    return root
