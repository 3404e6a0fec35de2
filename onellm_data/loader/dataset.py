"""The mixed-modality IterableDataset and its DataLoader wrapper with exact resume.

Every rank and worker runs the same global batch schedule (``schedule.py``); rank ``r`` takes its contiguous slice
of each global batch and worker ``w`` of ``W`` builds the batches ``k ≡ w (mod W)`` counted from where iteration
started. PyTorch's DataLoader collects workers round-robin, so batches come out in schedule order, and each batch
carries the schedule state *after* it: the wrapper keeps the last one as its ``state_dict()``. Restoring it
recreates the workers at that point — nothing is replayed, and the next batches are bit-identical.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from onellm_data import codecs
from onellm_data.errors import CorpusError
from onellm_data.index import read_table
from onellm_data.loader.failures import FailureBudget
from onellm_data.loader.schedule import GlobalBatch, LaneSpec, Schedule, ScheduleState, uniform
from onellm_data.loader.streams import Lane, LaneOrder, ShardReader, build_lane, key_fraction, lane_tables
from onellm_data.loader.template import CAPTION, TextTokenizer, encode_conversation, pad
from onellm_data.recipes import Recipe, check_corpus
from onellm_data.schema import MEDIA_MODALITIES

log = logging.getLogger(__name__)
STATE_VERSION = 1
SPLITS = ("train", "validation")
Decoder = Callable[..., torch.Tensor]
_INDEX_COLUMNS = ["key", "source", "modality", "shard", "tar_offset", "member_bytes", "stored_key", "conversation"]


def default_decoder(modality: str, members: dict[str, bytes], *, train: bool = False,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    return codecs.decode(modality, members, train=train, generator=generator)


def read_exclude(path: Path | None) -> set[str]:
    if path is None or not path.exists():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def recipe_modalities(recipe: Recipe, corpus: Path) -> set[str]:
    """Media modalities the recipe's mix draws from (sources looked up in the corpus index)."""
    table = read_table(corpus, "samples", columns=["source", "modality"])
    found = set()
    for entry in recipe.data.mix:
        if entry.modality is not None:
            found.add(entry.modality)
        else:
            rows = table.filter(pc.equal(table.column("source"), entry.source))
            found.update(pc.unique(rows.column("modality")).to_pylist())
    return {m for m in found if m in MEDIA_MODALITIES}


def held_out_mask(recipe: Recipe, samples: pa.Table) -> np.ndarray:
    """True for the index rows kept out of training (``data.held_out``: per source, a fixed fraction by key hash).

    The hash is salted, so the split is independent of ``subset``; the conversations grouped with one stored
    medium are hashed by its stored key and so fall on the same side (no image in both splits).
    """
    mask = np.zeros(samples.num_rows, dtype=bool)
    if not recipe.data.held_out:
        return mask
    sources = samples.column("source").to_numpy(zero_copy_only=False)
    keys = samples.column("key")
    if "stored_key" in samples.column_names:
        keys = pc.coalesce(samples.column("stored_key"), keys)
    keys = keys.to_numpy(zero_copy_only=False)
    for source, fraction in sorted(recipe.data.held_out.items()):
        rows = np.flatnonzero(sources == source)
        if not len(rows):
            raise CorpusError(f"recipe {recipe.name}: data.held_out names {source!r}, which has no samples")
        mask[rows[key_fraction([f"held-out/{k}" for k in keys[rows]]) < fraction]] = True
    return mask


def build_lanes(recipe: Recipe, samples: pa.Table, exclude: set[str] = frozenset()) -> tuple[list[Lane], list[LaneSpec]]:
    """The recipe's lanes over index rows, with each lane's share of its entry's weight."""
    mix = recipe.data.mix
    lanes: list[Lane] = []
    for i, modality, rows in lane_tables(samples, [(e.source, e.modality, e.subset) for e in mix], set(exclude)):
        lanes.append(build_lane(mix[i].name, i, modality, rows))
    if not lanes:
        raise CorpusError(f"recipe {recipe.name}: no samples in the corpus for any mix entry")
    entry_sizes = [0] * len(mix)
    for lane in lanes:
        entry_sizes[lane.entry] += len(lane)
    specs = []
    for lane in lanes:
        e = mix[lane.entry]
        natural = len(lane) * e.repeats
        weight = natural if e.weight is None else e.weight * len(lane) / entry_sizes[lane.entry]
        specs.append(LaneSpec(len(lane), weight, e.repeats, recipe.data.batch_size_for(lane.modality)))
    return lanes, specs


class MixedDataset(IterableDataset):
    """Yields ready batches (``batch_size=None`` in the DataLoader): one lane, one modality per batch."""

    def __init__(self, recipe: Recipe, corpus: Path, tokenizer: TextTokenizer, rank: int = 0, world_size: int = 1,
                 seed: int = 0, decoder: Decoder | None = None, train: bool = True, split: str = "train") -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.recipe, self.corpus, self.tokenizer = recipe, Path(corpus), tokenizer
        self.rank, self.world_size, self.seed, self.train = rank, world_size, seed, train
        self.decoder = decoder or default_decoder
        self.exclude_path = recipe.data.exclude_file
        samples = read_table(self.corpus, "samples", columns=_INDEX_COLUMNS)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: use {' or '.join(SPLITS)}")
        held_out = held_out_mask(recipe, samples)
        samples = samples.filter(pa.array(held_out if split == "validation" else ~held_out))
        from onellm_data.quality.exclude import recipe_exclude  # data.exclude lists and data.filters bounds

        excluded = read_exclude(self.exclude_path) | recipe_exclude(recipe, self.corpus)
        self.lanes, self.specs = build_lanes(recipe, samples, excluded)
        self.start = ScheduleState(cursors=[0] * len(self.lanes))
        self._fresh_schedule()  # validates the lane specs now, not in a worker

    def _fresh_schedule(self, state: ScheduleState | None = None) -> Schedule:
        copy = ScheduleState.from_dict(state.to_dict()) if state else None
        return Schedule(self.specs, self.recipe.data.sampling, self.world_size, self.seed,
                        self.recipe.data.drop_last, copy)

    def epoch_length(self) -> int | None:
        return self._fresh_schedule().epoch_length() if self.recipe.data.sampling == "epoch" else None

    # -- one sample --------------------------------------------------------------------------------------------
    def _sample(self, lane: Lane, row: int, reader: ShardReader, generator: torch.Generator
                ) -> tuple[list[int], list[int], torch.Tensor | None]:
        shard = lane.shards[int(np.searchsorted(lane.shard_starts, row, side="right")) - 1]
        key = str(lane.keys[row] if lane.stored_keys is None else lane.stored_keys[row])
        members = reader.read(shard, int(lane.offsets[row]), int(lane.spans[row]), key)
        record = json.loads(members.pop("json"))
        if lane.conversations is not None and lane.conversations[row]:  # one conversation per visit
            record["conversations"] = record["more_conversations"][lane.conversations[row] - 1]["conversations"]
        # The recipe decides the format (chat or caption), never a tag on the sample.
        ids, labels = encode_conversation(record["conversations"], self.tokenizer, self.recipe.data.seq_len,
                                          self.recipe.format)
        media = None
        if lane.modality != "text":
            # OneLLM masks audio spectrograms (SpecAugment) in its alignment stages only, not in instruction tuning.
            augment = self.train and (lane.modality != "audio" or self.recipe.format == CAPTION)
            media = self.decoder(lane.modality, members, train=augment, generator=generator)
        return ids, labels, media

    def validation_batches(self) -> Iterator[dict[str, Any]]:
        """Every sample once, lane by lane in index order, eval-mode decoding (a deterministic validation pass).
        Unreadable samples are left out."""
        reader = ShardReader(self.corpus)
        generator = torch.Generator().manual_seed(self.seed)
        try:
            for lane in self.lanes:
                size = self.recipe.data.batch_size_for(lane.modality)
                for first in range(0, len(lane), size):
                    rows = []
                    for row in range(first, min(first + size, len(lane))):
                        try:
                            rows.append(self._sample(lane, row, reader, generator))
                        except Exception as exc:  # noqa: BLE001 - as in training: a bad sample is skipped
                            log.warning("validation: skipping unreadable sample %s: %s", lane.keys[row], exc)
                    if rows:
                        yield self._collate(lane.modality, rows)
        finally:
            reader.close()

    def _collate(self, modality: str, rows: list[tuple[list[int], list[int], torch.Tensor | None]]
                 ) -> dict[str, Any]:
        padded = [pad(ids, labels, self.recipe.data.seq_len, self.tokenizer.pad_id) for ids, labels, _ in rows]
        return {"modality": modality,
                "media": None if modality == "text" else torch.stack([m for _, _, m in rows]),
                "input_ids": torch.tensor([ids for ids, _ in padded], dtype=torch.long),
                "labels": torch.tensor([labels for _, labels in padded], dtype=torch.long)}

    def _skip(self, lane: Lane, row: int, exc: Exception) -> None:
        shard = lane.shards[int(np.searchsorted(lane.shard_starts, row, side="right")) - 1]
        key = str(lane.keys[row])
        log.warning("skipping unreadable sample %s in %s: %s", key, shard, exc)
        if self.exclude_path is not None:
            with open(self.exclude_path, "a", encoding="utf-8") as fh:  # O_APPEND: whole lines across workers
                fh.write(key + "\n")

    def _batch(self, gb: GlobalBatch, orders: list[LaneOrder], reader: ShardReader, failures: FailureBudget
               ) -> dict[str, Any] | None:
        lane = self.lanes[gb.lane]
        start, stop = gb.rank_slice(self.rank, self.world_size)
        rows_ids, rows_labels, media, keys, sources = [], [], [], [], []
        for position in range(start, stop):
            row = orders[gb.lane].row_at(position)
            gen = torch.Generator().manual_seed(int(uniform(self.seed ^ 0x5EED, gb.number * 1_000_003 + position)
                                                    * 2**62))
            try:
                ids, labels, tensor = self._sample(lane, row, reader, gen)
            except Exception as exc:  # noqa: BLE001 - any bad sample is logged and skipped, within a budget
                self._skip(lane, row, exc)
                failures.failed(str(lane.sources[row]), f"{lane.keys[row]} in lane {lane.name}/{lane.modality}", exc)
                continue
            failures.ok(str(lane.sources[row]))
            ids, labels = pad(ids, labels, self.recipe.data.seq_len, self.tokenizer.pad_id)
            rows_ids.append(ids)
            rows_labels.append(labels)
            media.append(tensor)
            keys.append(str(lane.keys[row]))
            sources.append(str(lane.sources[row]))
        if not keys:
            return None
        return {
            "modality": lane.modality,
            "media": None if lane.modality == "text" else torch.stack(media),
            "input_ids": torch.tensor(rows_ids, dtype=torch.long),
            "labels": torch.tensor(rows_labels, dtype=torch.long),
            "keys": keys,
            "sources": sources,
        }

    def _placeholder(self, modality: str) -> dict[str, Any]:
        """One row of padding with no target (zero loss, zero gradients) and zero media of the modality's shape."""
        ids, labels = pad([], [], self.recipe.data.seq_len, self.tokenizer.pad_id)
        return {"modality": modality, "placeholder": True,
                "media": None if modality == "text" else torch.zeros(1, *codecs.SHAPES[modality]),
                "input_ids": torch.tensor([ids], dtype=torch.long), "labels": torch.tensor([labels], dtype=torch.long),
                "keys": [], "sources": []}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        schedule = self._fresh_schedule(self.start)
        orders = [LaneOrder(lane, self.seed, i, self.recipe.data.block_shards) for i, lane in enumerate(self.lanes)]
        reader = ShardReader(self.corpus)
        failures = FailureBudget(self.recipe.data.max_failures)
        k = 0
        try:
            while True:
                gb = schedule.next()
                if gb is None:  # end of an epoch: tell the wrapper where the next one starts
                    if worker == k % workers:
                        yield {"_state": schedule.state.to_dict(), "_skip": True, "_end": True}
                    return
                mine = k % workers == worker
                k += 1
                if not mine:
                    continue
                batch = self._batch(gb, orders, reader, failures)
                state = schedule.state.to_dict()
                if batch is None and self.world_size > 1:
                    # No share of a small tail batch, or only bad samples: every rank must still take this step
                    # with this modality (FSDP gathers each block's weights together; skipping would put this
                    # rank a batch behind the others for good), so it gets a batch that trains nothing.
                    batch = self._placeholder(self.lanes[gb.lane].modality)
                # Alone, such a batch is skipped: a marker keeps the workers in turn.
                yield {"_state": state, "_skip": True} if batch is None else {**batch, "_state": state}
        finally:
            reader.close()


class MixedLoader:
    """Iterable over batches, with ``state_dict()`` / ``load_state_dict()`` (positions only, a few hundred bytes)."""

    def __init__(self, dataset: MixedDataset, num_workers: int = 0, pin_memory: bool = False,
                 prefetch_factor: int | None = None) -> None:
        self.dataset, self.num_workers = dataset, num_workers
        self.pin_memory, self.prefetch_factor = pin_memory, prefetch_factor
        self._state: ScheduleState = dataset.start

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.dataset.start = self._state
        kwargs: dict[str, Any] = {}
        if self.num_workers > 0 and self.prefetch_factor is not None:
            kwargs["prefetch_factor"] = self.prefetch_factor
        loader = DataLoader(self.dataset, batch_size=None, num_workers=self.num_workers,
                            pin_memory=self.pin_memory, persistent_workers=False, **kwargs)
        for batch in loader:
            self._state = ScheduleState.from_dict(batch.pop("_state"))
            if batch.get("_end"):
                return
            if batch.get("_skip"):
                continue
            yield batch

    def state_dict(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "seed": self.dataset.seed, "rank": self.dataset.rank,
                "world_size": self.dataset.world_size, "lanes": [f"{lane.name}/{lane.modality}" for lane in self.dataset.lanes],
                "schedule": self._state.to_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"loader state version {state.get('version')} is not {STATE_VERSION}")
        lanes = [f"{lane.name}/{lane.modality}" for lane in self.dataset.lanes]
        mismatch = [(k, state.get(k), v) for k, v in (("seed", self.dataset.seed), ("world_size",
                    self.dataset.world_size), ("lanes", lanes)) if state.get(k) != v]
        if mismatch:
            raise ValueError(f"loader state does not fit this loader: {mismatch}")
        self._state = ScheduleState.from_dict(state["schedule"])
        self.dataset.start = self._state

    def epoch_length(self) -> int | None:
        return self.dataset.epoch_length()


def make_loader(recipe: Recipe, corpus: Path | str | None, tokenizer: TextTokenizer, rank: int = 0,
                world_size: int = 1, num_workers: int = 0, seed: int = 0, *, decoder: Decoder | None = None,
                train: bool = True, pin_memory: bool = False) -> MixedLoader:
    """The training loader of a recipe over a corpus (``corpus=None``: the recipe's own)."""
    if tokenizer is None:
        raise ValueError(f"recipe {recipe.name}: the loader needs a tokenizer (e.g. model.text_tokenizer.Tokenizer"
                         f"({recipe.tokenizer or 'tokenizer.model'}))")
    root = check_corpus(recipe, corpus)
    dataset = MixedDataset(recipe, root, tokenizer, rank, world_size, seed, decoder, train)
    return MixedLoader(dataset, num_workers=num_workers, pin_memory=pin_memory)


def make_validation(recipe: Recipe, corpus: Path | str | None, tokenizer: TextTokenizer, seed: int = 0, *,
                    decoder: Decoder | None = None) -> MixedDataset | None:
    """The held-out samples of ``data.held_out`` (``validation_batches()`` walks them once), or None if none."""
    if not recipe.data.held_out:
        return None
    return MixedDataset(recipe, check_corpus(recipe, corpus), tokenizer, 0, 1, seed, decoder, train=False,
                        split="validation")
