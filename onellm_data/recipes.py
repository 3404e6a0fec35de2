"""Training recipes: one YAML file per stage, loaded into typed, frozen config classes.

The dataclasses below are the schema: ``onellm_data.typed_config`` reads each field by its name, type and
``setting(...)`` checks, so a new recipe field is one line in its dataclass. Values are strict (YAML ``'no'`` is
not a bool, weights are finite and positive, sizes are bounded) and errors name the file, the line and the dotted
key (``recipes/x.yaml:12: data.mix[1].weight: must be > 0``). The data mix is checked against a corpus's index by
``check_corpus`` (or ``load_recipe(path, corpus=...)``).

Mix semantics: an entry names a ``source`` or a whole ``modality``. ``weight`` is the entry's requested share of
*samples* (omitted = its natural size: samples × subset × repeats). ``repeats`` and ``subset`` size the entry's
epoch (``sampling: epoch`` walks exactly that many samples per epoch, each batch's entry drawn at random in
proportion to the batches left). ``sampling: weighted`` draws each global batch's entry with probability
proportional to weight / batch size, forever, so sample shares converge to the weights.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from onellm_data.bundled import find_recipe
from onellm_data.schema import MODALITIES
from onellm_data.typed_config import ConfigError, InvalidField, Reader, internal, load_yaml, setting

PARTS: tuple[str, ...] = ("tokenizers", "clip", "upm", "llm")
SAMPLING_MODES = ("weighted", "epoch")
# How samples become tokens: "chat" (instruction tuning: the conversation template, loss on answers) or
# "caption" (alignment: "<s> caption</s>"); the stage decides, the run records it, eval and chat follow it.
FORMATS = ("chat", "caption")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Bounds that keep a typo from becoming a MemoryError: far above any real stage, far below what breaks.
MAX_SEQ_LEN = 1 << 20
MAX_BATCH = 1 << 16
MAX_STEPS = 10 ** 10


class RecipeError(ConfigError):
    """A recipe that cannot be used; ``file``, ``line`` and ``key`` locate the problem."""


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    preset: str = setting(nonempty=True)
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class MixEntry:
    source: str | None = setting(None, nonempty=True)  # exactly one of source / modality
    modality: str | None = setting(None, choices=MODALITIES)
    weight: float | None = setting(None, gt=0)  # None = natural size
    repeats: float = setting(1.0, gt=0, le=1e6)
    subset: float = setting(1.0, gt=0, le=1)  # fraction of the entry's samples kept (a fixed, key-hashed subset)
    line: int | None = internal(None)

    def __post_init__(self) -> None:
        if (self.source is None) == (self.modality is None):
            raise ValueError("a mix entry names exactly one of 'source' or 'modality'")

    @property
    def name(self) -> str:
        return self.source if self.source is not None else f"modality:{self.modality}"


@dataclass(frozen=True, kw_only=True)
class DataSpec:
    mix: tuple[MixEntry, ...] = setting(nonempty=True)
    seq_len: int = setting(ge=8, le=MAX_SEQ_LEN)
    batch_size: dict[str, int] = setting(ge=1, le=MAX_BATCH, keys=("default", *MODALITIES))  # "default" + overrides
    corpus: Path | None = None
    sampling: str = setting("weighted", choices=SAMPLING_MODES)
    block_shards: int = setting(4, ge=1, le=1 << 16)  # shards whose samples are shuffled together
    drop_last: bool = False
    max_failures: int = setting(100, ge=1)  # consecutive unreadable samples before the run stops
    exclude_file: Path | None = None  # keys never loaded; skipped keys are appended to it
    exclude: tuple[Path, ...] = ()  # exclude lists (one key per line: dedup, contamination); never loaded
    # per-modality bounds on index columns, e.g. {image: {min_side: 224}, all: {max_answer_tokens: 1024}}
    filters: dict[str, dict[str, float]] = setting(default_factory=dict, keys=("all", *MODALITIES))
    # source → fraction of its samples (by key hash) kept out of training for validation loss
    held_out: dict[str, float] = setting(default_factory=dict, gt=0, lt=1)

    def __post_init__(self) -> None:
        if "default" not in self.batch_size:
            raise InvalidField("batch_size", "needs a 'default' (or give one integer)")

    def batch_size_for(self, modality: str) -> int:
        return self.batch_size.get(modality, self.batch_size["default"])


@dataclass(frozen=True, kw_only=True)
class OptimSpec:
    name: str = setting("adamw", choices=("adamw",))
    lr: float = setting(2e-5, gt=0, le=1)
    min_lr: float = setting(0.0, ge=0, le=1)
    weight_decay: float = setting(0.0, ge=0, le=10)
    betas: tuple[float, float] = setting((0.9, 0.95), ge=0, lt=1)
    eps: float = setting(1e-8, gt=0, le=1)
    clip_grad: float = setting(2.0, gt=0)
    accum_steps: int = setting(1, ge=1, le=MAX_BATCH)


@dataclass(frozen=True, kw_only=True)
class ScheduleSpec:
    warmup_steps: int = setting(0, ge=0, le=MAX_STEPS)  # optimizer steps
    total_steps: int | None = setting(None, ge=0, le=MAX_STEPS)  # cosine length (None: the whole run)
    epochs: float | None = setting(None, gt=0, le=1e6)
    max_steps: int | None = setting(None, ge=0, le=MAX_STEPS)
    validate_every: int = setting(0, ge=0, le=MAX_STEPS)  # steps between validation losses (0: at the end only)

    def __post_init__(self) -> None:
        if self.epochs is None and self.max_steps is None:
            raise ValueError("give epochs or max_steps")


@dataclass(frozen=True, kw_only=True)
class Recipe:
    name: str = setting(nonempty=True)
    path: Path = internal(Path())
    model: ModelSpec
    trainable: tuple[str, ...] = setting(choices=PARTS, nonempty=True)
    frozen: tuple[str, ...] = setting((), choices=PARTS)
    data: DataSpec
    optim: OptimSpec
    schedule: ScheduleSpec
    tokenizer: Path | None = None
    init_from: Path | None = None  # previous stage output, OneLLM release, Meta or HF LLaMA weights
    init_clip: Path | None = None  # OpenAI CLIP ViT weights (frozen encoder) when init_from lacks them
    init_new_modalities_from: str | None = setting(None, choices=MODALITIES)  # OneLLM's copy from image
    format: str = setting("chat", choices=FORMATS)
    init_experts_from_one: bool = False  # the paper's UPM init: every expert starts as a copy of the first
    description: str = ""
    key_lines: dict[str, int] = internal(default_factory=dict, repr=False, compare=False)  # for later errors

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


def resolve_path(text: str) -> Path:
    """``$VARS`` expanded; a relative path is taken from the working directory, else from the project root."""
    path = Path(os.path.expandvars(os.path.expanduser(text)))
    if path.is_absolute() or path.exists() or not (PROJECT_ROOT / path).exists():
        return path
    return PROJECT_ROOT / path


def _reader(path: Path, lines: dict[str, int]) -> Reader:
    return Reader(path, lines, RecipeError, resolve_path)


def _check(recipe: Recipe, r: Reader) -> Recipe:
    """Rules across fields; returns the recipe with each mix entry's line filled in."""
    both = set(recipe.trainable) & set(recipe.frozen)
    if both:
        raise r.error("frozen", f"parts both trainable and frozen: {', '.join(sorted(both))}")
    mix = recipe.data.mix
    names = [e.name for e in mix]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise r.error(f"data.mix[{i}]", f"{name} appears twice in the mix")
    if len({e.weight is None for e in mix}) > 1:
        raise r.error("data.mix", "give a weight to every entry or to none (none = natural sizes)")
    lined = tuple(dataclasses.replace(e, line=r.lines.get(f"data.mix[{i}]")) for i, e in enumerate(mix))
    return dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, mix=lined))


def load_recipe(path: Path | str, corpus: Path | str | None = None) -> Recipe:
    """Parse and validate a recipe; with ``corpus`` (or a recipe corpus that exists) also check its data mix.
    ``recipes/<name>.yaml`` absent from the working directory is the shipped recipe (installed package)."""
    path = find_recipe(path)
    raw, lines = load_yaml(path, RecipeError)
    r = _reader(path, lines)
    data = r.mapping(raw, "")
    if isinstance(data.get("data"), dict):
        bs = data["data"].get("batch_size")
        if isinstance(bs, int) and not isinstance(bs, bool):  # one integer = the default for every modality
            data = {**data, "data": {**data["data"], "batch_size": {"default": bs}}}
            lines.setdefault("data.batch_size.default", lines.get("data.batch_size", 0))
    recipe = _check(r.build(Recipe, data, "", path=path, key_lines=lines), r)
    if corpus is not None:
        check_corpus(recipe, Path(corpus))
    return recipe


def recipe_error(recipe: Recipe, key: str, message: str) -> RecipeError:
    return _reader(recipe.path, recipe.key_lines).error(key, message)  # type: ignore[return-value]


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
