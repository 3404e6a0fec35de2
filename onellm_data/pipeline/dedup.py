"""Exact duplicate-id detection in about 13 bytes of memory per distinct id.

The runner rejects a repeated source id ("duplicate id", first occurrence kept) while it enumerates a source's
records, before they are cut into partitions. Every executor, every ``--partition i/n`` process (each enumerates
the whole stream) and every resumed run (it enumerates again from the start) therefore takes the same decisions
from the same stream, with no state to persist or merge. Only the set of seen ids had to change: a Python set
costs ~80 bytes per record (88 MB at 1M records, tens of GB at alignment scale). ``SeenIds`` keeps the same
online, first-wins, exact semantics in:

- memory: per distinct id, its 64-bit hash and its 32-bit number, in sorted numpy runs: a young tier of runs
  merged like a binary counter, flushed into 64 shards (by the hash's top bits) once it holds 1/8 of them, so a
  merge's transient copy is one run or one shard, never everything; plus a one-word Bloom filter (8 bits per id)
  so most new ids (~97%) are told apart without a lookup. Numbers widen to 64 bits past 2**32 ids;
- disk: every distinct id, written once, in an anonymous temporary file (unlinked from the start, so nothing
  outlives the process, even on SIGKILL) under the corpus's index directory, and beside it where each id ends.

A hash match is only a candidate: it is a duplicate when the spilled bytes equal the id, so a hash collision can
never reject a record (the colliding id is stored under the same hash too).

Rejected alternatives: SQLite keyed by the id is exact and flat in memory, but measured ~10 µs per random id by
10M rows (B-tree inserts out of cache); finding duplicates at index-merge time would put later copies into shards
that must then be rewritten; an open-addressing numpy table needs slack (25-40 B per id) and a full rehash copy.
"""

from __future__ import annotations

import ctypes
import os
import struct
import tempfile
from collections.abc import Callable, Sequence
from itertools import compress
from pathlib import Path
from typing import Any

import numpy as np

from onellm_data.shards.atomic import TMP_PREFIX

HashFn = Callable[[list[str]], np.ndarray]

PTR32_LIMIT = 1 << 32  # ids are numbered in uint32 up to here, in uint64 beyond (every pointer is then widened)


def default_hash(ids: list[str]) -> np.ndarray:
    """64-bit hashes of ``ids``: Python's own string hash (SipHash), cached on the str objects, so computing it
    costs nothing after the batch's dict. Its per-process seed is harmless: every hit is confirmed against the
    id's bytes and the structure never leaves the process."""
    return np.fromiter(map(hash, ids), np.int64, len(ids)).view(np.uint64)


def _merge(a_k: np.ndarray, a_p: np.ndarray, b_k: np.ndarray, b_p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge two sorted runs of keys (with their pointers). Scattering into the output needs less transient memory
    than sorting the concatenation: a bool mask, and the insert positions of the smaller run."""
    if not len(a_k) or not len(b_k):
        keys, ptrs = (a_k, a_p) if len(a_k) else (b_k, b_p)
        # Never keep a view: it would hold on to the whole array it slices.
        return (keys, ptrs) if keys.base is None and ptrs.base is None else (keys.copy(), ptrs.copy())
    at = np.searchsorted(a_k, b_k)
    at += np.arange(len(b_k))
    rest = np.ones(len(a_k) + len(b_k), dtype=bool)
    rest[at] = False
    keys = np.empty(len(rest), dtype=np.uint64)
    keys[at] = b_k
    keys[rest] = a_k
    ptrs = np.empty(len(rest), dtype=np.result_type(a_p, b_p))
    ptrs[at] = b_p
    ptrs[rest] = a_p
    return keys, ptrs


def _release_free_memory() -> None:
    """Hand freed heap pages back to the OS (glibc keeps freed arrays below its mmap threshold, up to 32 MB each,
    in the heap, where they count as resident); a no-op elsewhere."""
    global _TRIM
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL(None).malloc_trim
        except (AttributeError, OSError, TypeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM = None


def _write_all(fh: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[fh.write(view):]


def _encode(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


class _BlockedBloom:
    """A one-word-per-key Bloom filter over the 64-bit hashes: 3 bits in one of ``words`` (8 bits per key at full
    load, ~3% false positives), so telling a new id from a possible repeat costs one memory access."""

    BITS_PER_KEY = 8
    _ONE, _SIX = np.uint64(1), np.uint64(63)

    def __init__(self, words: int) -> None:
        self.words = np.zeros(words, dtype=np.uint64)  # a power of two
        self.capacity = words * 64 // self.BITS_PER_KEY

    def _where(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The low bits pick the word, bits 40-57 the three bits (the shards use the top bits).
        index = (keys & np.uint64(len(self.words) - 1)).astype(np.intp)
        one, six = self._ONE, self._SIX
        mask = one << ((keys >> np.uint64(40)) & six)
        mask |= one << ((keys >> np.uint64(46)) & six)
        mask |= one << ((keys >> np.uint64(52)) & six)
        return index, mask

    def may_contain(self, keys: np.ndarray) -> np.ndarray:
        index, mask = self._where(keys)
        return (self.words[index] & mask) == mask

    def add(self, keys: np.ndarray) -> None:
        index, mask = self._where(keys)
        while len(index):
            # Fancy |= loses all but the last of several keys sharing a word: redo those until every bit is set.
            self.words[index] |= mask
            lost = (self.words[index] & mask) != mask
            index, mask = index[lost], mask[lost]


class SeenIds:
    """The set of ids seen so far; ``check_and_add`` marks repeats and remembers the rest."""

    SHARD_BITS = 6  # the old tier: 64 sorted arrays by the hash's top bits (a merge copies one at a time)
    YOUNG_MIN = 1 << 16  # the young tier is flushed into the shards once it holds this many ids
    YOUNG_FRACTION = 8  # ... and at least 1/8 of the old tier (so each id is rewritten a bounded number of times)
    MERGE_RATIO = 2  # young runs: merge the newest into the previous while that one is at most 2x larger

    def __init__(self, spill_dir: Path | str | None = None, hash_fn: HashFn = default_hash) -> None:
        self.spill_dir = spill_dir
        self.hash_fn = hash_fn
        self._young_k: list[np.ndarray] = []  # sorted runs, oldest (largest) first
        self._young_p: list[np.ndarray] = []
        self._young = 0
        self._ptr_type = np.uint32  # a pointer is the id's number: its bytes end at ends[number] in the spill
        self._old_k: list[np.ndarray] = [np.empty(0, np.uint64)] * (1 << self.SHARD_BITS)
        self._old_p: list[np.ndarray] = [np.empty(0, self._ptr_type)] * (1 << self.SHARD_BITS)
        self._old = 0
        self._shift = np.uint64(64 - self.SHARD_BITS)
        self._filter = _BlockedBloom(1 << 10)
        self._ids = self._ends = None  # spill files: the ids' bytes back to back, and where each one ends (uint64)
        self._spill_size = 0
        self.collisions = 0  # hash hits that were another id (diagnostics, tests)

    @property
    def count(self) -> int:
        """Distinct ids stored."""
        return self._young + self._old

    @property
    def nbytes(self) -> int:
        """Memory held by the in-memory structure (its numpy arrays)."""
        arrays = (*self._young_k, *self._young_p, *self._old_k, *self._old_p, self._filter.words)
        return sum(a.nbytes for a in arrays)

    def close(self) -> None:
        for spill in (self._ids, self._ends):
            if spill is not None:
                spill.close()
        self._ids = self._ends = None

    def __enter__(self) -> SeenIds:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_and_add(self, ids: Sequence[str]) -> list[bool]:
        """For each id in order: True if it equals an earlier id (of this call or any before), else False. The ids
        seen for the first time are remembered."""
        n = len(ids)
        first = dict(zip(reversed(ids), range(n - 1, -1, -1)))  # id -> its first position in this batch
        duplicate = [False] * n
        if len(first) < n:
            for i, s in enumerate(ids):
                if first[s] != i:
                    duplicate[i] = True
        fresh = list(first)  # the batch's distinct ids
        if not fresh:
            return duplicate
        keys = np.asarray(self.hash_fn(fresh), dtype=np.uint64)
        order = np.argsort(keys, kind="stable")  # key order -> index in fresh
        keys = keys[order]
        is_new = np.ones(len(keys), dtype=bool)  # in key order

        def confirm(run_k: np.ndarray, run_p: np.ndarray, positions: np.ndarray) -> None:
            """Hash hits of ``keys[positions]`` (sorted) in one sorted run, each confirmed against the id's bytes."""
            if not len(run_k) or not len(positions):
                return
            query = keys[positions]
            lo = np.searchsorted(run_k, query)
            for j in np.flatnonzero(run_k[np.minimum(lo, len(run_k) - 1)] == query).tolist():
                pos = int(positions[j])
                if not is_new[pos]:
                    continue
                s = fresh[order[pos]]
                hi = int(np.searchsorted(run_k, query[j], "right"))
                if self._stored(run_p[lo[j]:hi], _encode(s)):
                    is_new[pos] = False
                    duplicate[first[s]] = True
                else:
                    self.collisions += 1

        if self._young or self._old:
            # Only the ids the filter cannot rule out are looked up (about 3%, plus the real duplicates).
            candidates = np.flatnonzero(self._filter.may_contain(keys))
            for run_k, run_p in zip(self._young_k, self._young_p):
                confirm(run_k, run_p, candidates)
            if self._old and len(candidates):
                for shard, start, stop in self._shards_of(keys[candidates]):
                    confirm(self._old_k[shard], self._old_p[shard], candidates[start:stop])

        new = np.flatnonzero(is_new)
        if not len(new):
            return duplicate
        # Spill the new ids in batch order, then put their pointers in key order.
        keep = np.zeros(len(fresh), dtype=bool)
        keep[order[new]] = True
        ptrs = self._append(list(compress(fresh, keep)))
        rank = np.cumsum(keep) - 1
        self._add(keys[new], ptrs[rank[order[new]]])
        return duplicate

    def _shards_of(self, keys: np.ndarray) -> list[tuple[int, int, int]]:
        """(shard, start, stop) of each shard's slice of sorted ``keys``."""
        shards = keys >> self._shift
        cuts = (np.flatnonzero(shards[1:] != shards[:-1]) + 1).tolist()
        return [(int(shards[a]), a, b) for a, b in zip([0, *cuts], [*cuts, len(keys)])]

    def _stored(self, numbers: np.ndarray, encoded: bytes) -> bool:
        """Whether any spilled id of these numbers is exactly ``encoded``."""
        for number in numbers.tolist():
            if number:
                start, end = struct.unpack("<QQ", os.pread(self._ends.fileno(), 16, 8 * (number - 1)))
            else:
                start, end = 0, struct.unpack("<Q", os.pread(self._ends.fileno(), 8, 0))[0]
            if end - start == len(encoded) and os.pread(self._ids.fileno(), len(encoded), start) == encoded:
                return True
        return False

    def _append(self, ids: list[str]) -> np.ndarray:
        """Spill ids; returns their numbers (pointers)."""
        if self._ids is None:
            # Anonymous where the OS allows (O_TMPFILE), else unlinked at once: nothing outlives the process.
            self._ids, self._ends = (
                tempfile.TemporaryFile(prefix=f"{TMP_PREFIX}dedup-", dir=self.spill_dir, buffering=0) for _ in "ab"
            )
        text = "".join(ids)
        if text.isascii():
            blob = text.encode("ascii")
            sizes = np.fromiter(map(len, ids), np.uint64, len(ids))
        else:
            encoded = list(map(_encode, ids))
            blob = b"".join(encoded)
            sizes = np.fromiter(map(len, encoded), np.uint64, len(ids))
        ends = np.cumsum(sizes, dtype=np.uint64) + np.uint64(self._spill_size)
        _write_all(self._ids, blob)
        _write_all(self._ends, ends.astype("<u8").tobytes())
        self._spill_size += len(blob)
        first = self._young + self._old
        if first + len(ids) > PTR32_LIMIT and self._ptr_type is np.uint32:
            self._ptr_type = np.uint64
            self._young_p = [p.astype(np.uint64) for p in self._young_p]
            for shard, p in enumerate(self._old_p):
                self._old_p[shard] = p.astype(np.uint64)
        return np.arange(first, first + len(ids), dtype=self._ptr_type)

    def _add(self, keys: np.ndarray, ptrs: np.ndarray) -> None:
        if self._young + self._old + len(keys) > self._filter.capacity:
            # Rebuild at twice the size from the stored hashes, one array at a time.
            words = 2 * len(self._filter.words)
            while words * 64 // _BlockedBloom.BITS_PER_KEY < self._young + self._old + len(keys):
                words *= 2
            self._filter = None  # the old filter is freed before the new one is built
            self._filter = _BlockedBloom(words)
            for run in (*self._young_k, *self._old_k):
                for start in range(0, len(run), 1 << 20):
                    self._filter.add(run[start:start + (1 << 20)])
        self._filter.add(keys)
        self._add_young(keys, ptrs)

    def _add_young(self, keys: np.ndarray, ptrs: np.ndarray) -> None:
        runs_k, runs_p = self._young_k, self._young_p
        runs_k.append(keys)
        runs_p.append(ptrs)
        self._young += len(keys)
        while len(runs_k) > 1 and len(runs_k[-2]) <= self.MERGE_RATIO * len(runs_k[-1]):
            k, p = _merge(runs_k[-2], runs_p[-2], runs_k[-1], runs_p[-1])
            del runs_k[-2:], runs_p[-2:]
            runs_k.append(k)
            runs_p.append(p)
        if self._young >= max(self.YOUNG_MIN, self._old // self.YOUNG_FRACTION):
            self._flush()

    def _flush(self) -> None:
        """Merge the young runs into the old tier, one shard at a time (the transient copy is one shard's)."""
        bounds = np.arange(1, 1 << self.SHARD_BITS, dtype=np.uint64) << self._shift
        cuts = [[0, *np.searchsorted(run, bounds).tolist(), len(run)] for run in self._young_k]
        for shard in range(1 << self.SHARD_BITS):
            # This shard's slice of each young run, smallest (newest) first, merged together, then into the shard.
            k, p = self._young_k[-1][:0], self._young_p[-1][:0]
            for run_k, run_p, cut in zip(self._young_k[::-1], self._young_p[::-1], cuts[::-1]):
                a, b = cut[shard], cut[shard + 1]
                k, p = _merge(run_k[a:b], run_p[a:b], k, p)
            self._old_k[shard], self._old_p[shard] = _merge(self._old_k[shard], self._old_p[shard], k, p)
            del k, p
        self._old += self._young
        self._young = 0
        self._young_k, self._young_p = [], []
        _release_free_memory()
