"""Per-lane sample streams over the shards, built from the index alone.

A *lane* is one (mix entry, modality) pair: the unit a batch is drawn from (a source holding image and text chats
gives two lanes). A lane's stream is an endless, deterministic sequence of its samples: epoch ``e`` visits the
shards in a seeded random order, and the samples of each block of ``block_shards`` consecutive shards in a seeded
random order (the index's byte offsets make that a seek, so no shuffle buffer has to be refilled after a restart).
Any stream position maps to a sample in O(log shards), which is what makes resume and rank/worker splitting free
of replay: a position is a single integer.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onellm_data.errors import CorpusError
from onellm_data.shards.tarwriter import BLOCK, member_span



@dataclass
class Lane:
    """The samples of one (entry, modality), sorted by (shard, offset)."""

    name: str  # mix entry name (source, or "modality:<m>")
    entry: int  # index of the entry in the recipe's mix
    modality: str
    shards: list[str]  # shard paths relative to the corpus
    shard_starts: np.ndarray  # first row of each shard; len(shards) + 1 entries
    offsets: np.ndarray  # tar byte offset of each sample
    spans: np.ndarray  # bytes of each sample's members (headers + padded data)
    keys: np.ndarray  # object array of keys
    sources: np.ndarray  # object array of source names
    stored_keys: np.ndarray | None = None  # tar member stem of each row (None: the keys themselves)
    conversations: np.ndarray | None = None  # which conversation of the stored record each row is (None: all 0)

    def __len__(self) -> int:
        return len(self.offsets)


def key_fraction(keys: list[str]) -> np.ndarray:
    """A stable number in [0, 1) per key: subsets keep the same samples whatever else the corpus holds."""
    out = np.empty(len(keys), dtype=np.float64)
    for i, key in enumerate(keys):
        out[i] = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") / 2.0**64
    return out


def sample_spans(member_bytes: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Bytes a sample occupies in its tar: per member a 512-byte header plus data padded to 512."""
    arr = member_bytes.combine_chunks() if isinstance(member_bytes, pa.ChunkedArray) else member_bytes
    sizes = arr.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    padded = member_span(sizes)
    offsets = arr.offsets.to_numpy().astype(np.int64)
    sums = np.add.reduceat(padded, offsets[:-1]) if len(sizes) else np.zeros(0, np.int64)
    sums[offsets[:-1] == offsets[1:]] = 0
    return sums


def build_lane(name: str, entry: int, modality: str, table: pa.Table) -> Lane:
    """``table``: index rows of one lane (columns key, source, shard, tar_offset, member_bytes)."""
    table = table.sort_by([("shard", "ascending"), ("tar_offset", "ascending")])
    shard_col = table.column("shard").to_numpy(zero_copy_only=False)
    shards, starts = np.unique(shard_col, return_index=True)
    order = np.argsort(starts)
    shards, starts = shards[order], starts[order]
    return Lane(
        name=name,
        entry=entry,
        modality=modality,
        shards=[str(s) for s in shards],
        shard_starts=np.append(starts, len(shard_col)).astype(np.int64),
        offsets=table.column("tar_offset").to_numpy().astype(np.int64),
        spans=sample_spans(table.column("member_bytes")),
        keys=table.column("key").to_numpy(zero_copy_only=False),
        sources=table.column("source").to_numpy(zero_copy_only=False),
        **_stored_columns(table),
    )


def _stored_columns(table: pa.Table) -> dict[str, np.ndarray]:
    """Rows that are further conversations of a stored sample name its tar key and their conversation number."""
    if "conversation" not in table.column_names:
        return {}
    numbers = pc.fill_null(table.column("conversation"), 0).to_numpy().astype(np.int16)
    if not numbers.any():
        return {}
    stored = pc.coalesce(table.column("stored_key"), table.column("key")).to_numpy(zero_copy_only=False)
    return {"stored_keys": stored, "conversations": numbers}


class LaneOrder:
    """Maps a lane's stream position to a row, per the seeded shard/block shuffle of its epoch."""

    def __init__(self, lane: Lane, seed: int, lane_index: int, block_shards: int) -> None:
        self.lane, self.seed, self.lane_index, self.block_shards = lane, seed, lane_index, block_shards
        self._plans: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._blocks: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    def _plan(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(shard order, cumulative sample count at each block start) for an epoch."""
        if epoch not in self._plans:
            rng = np.random.default_rng([self.seed, self.lane_index, epoch])
            order = rng.permutation(len(self.lane.shards))
            counts = np.diff(self.lane.shard_starts)[order]
            block_counts = np.add.reduceat(counts, np.arange(0, len(order), self.block_shards))
            self._plans[epoch] = (order, np.concatenate([[0], np.cumsum(block_counts)]))
            while len(self._plans) > 2:
                self._plans.popitem(last=False)
        return self._plans[epoch]

    def _block(self, epoch: int, block: int) -> np.ndarray:
        if (epoch, block) not in self._blocks:
            order, _ = self._plan(epoch)
            starts = self.lane.shard_starts
            shards = order[block * self.block_shards:(block + 1) * self.block_shards]
            rows = np.concatenate([np.arange(starts[s], starts[s + 1]) for s in shards])
            rng = np.random.default_rng([self.seed, self.lane_index, epoch, block + 1])
            self._blocks[(epoch, block)] = rows[rng.permutation(len(rows))]
            while len(self._blocks) > 4:
                self._blocks.popitem(last=False)
        return self._blocks[(epoch, block)]

    def row_at(self, position: int) -> int:
        n = len(self.lane)
        epoch, i = divmod(position, n)
        _, cum = self._plan(epoch)
        block = int(np.searchsorted(cum, i, side="right")) - 1
        return int(self._block(epoch, block)[i - cum[block]])


class ShardReader:
    """Reads one sample's members by seeking into its shard (a few open files kept per process)."""

    def __init__(self, corpus: Path, max_open: int = 16) -> None:
        self.corpus, self.max_open = Path(corpus), max_open
        self._files: OrderedDict[str, object] = OrderedDict()

    def _file(self, shard: str):
        fh = self._files.pop(shard, None)
        if fh is None:
            fh = open(self.corpus / shard, "rb")  # noqa: SIM115 - cached, closed on eviction
        self._files[shard] = fh
        while len(self._files) > self.max_open:
            self._files.popitem(last=False)[1].close()
        return fh

    def read(self, shard: str, offset: int, span: int, key: str) -> dict[str, bytes]:
        """The sample's members by extension (``json``, ``jpg``, ``depth.png`` ...); checks the names."""
        fh = self._file(shard)
        fh.seek(offset)
        buf = fh.read(span)
        if len(buf) != span:
            raise CorpusError(f"{shard}: truncated at offset {offset} (sample {key})")
        members: dict[str, bytes] = {}
        pos = 0
        while pos < span:
            info = tarfile.TarInfo.frombuf(buf[pos:pos + BLOCK], "utf-8", "surrogateescape")
            stem, _, ext = info.name.partition(".")
            if stem != key or not ext:
                raise CorpusError(f"{shard}: member {info.name!r} at offset {offset + pos} is not part of {key}")
            start = pos + BLOCK
            members[ext] = buf[start:start + info.size]
            pos += member_span(info.size)
        return members

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()

    def __getstate__(self) -> dict:
        return {"corpus": self.corpus, "max_open": self.max_open}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["corpus"], state["max_open"])


def lane_tables(samples: pa.Table, entries: list[tuple[str | None, str | None, float]],
                exclude: set[str] | None = None) -> list[tuple[int, str, pa.Table]]:
    """Split index rows into lanes: ``entries`` are (source, modality, subset) in mix order.

    A modality entry takes that modality's samples from the sources no source entry names, so no sample is
    reachable through two entries.
    """
    named = {s for s, _, _ in entries if s is not None}
    out = []
    for i, (source, modality, subset) in enumerate(entries):
        if source is not None:
            mask = pc.equal(samples.column("source"), source)
        else:
            mask = pc.and_(pc.equal(samples.column("modality"), modality),
                           pc.invert(pc.is_in(samples.column("source"), pa.array(sorted(named), pa.string()))))
        rows = samples.filter(mask)
        if subset < 1.0 and rows.num_rows:
            keep = key_fraction(rows.column("key").to_pylist()) < subset
            rows = rows.filter(pa.array(keep))
        if exclude and rows.num_rows:
            rows = rows.filter(pc.invert(pc.is_in(rows.column("key"), pa.array(sorted(exclude), pa.string()))))
        for mod in sorted(set(rows.column("modality").to_pylist())):
            out.append((i, mod, rows.filter(pc.equal(rows.column("modality"), mod))))
    return out
