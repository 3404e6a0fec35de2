"""Duplicate groups over millions of hashes in flat numpy arrays (no per-row Python objects).

- Exact: rows with equal digests. The digests' first 8 bytes are sorted as ``uint64``; equal runs are confirmed on
  the full digest, so a prefix collision never merges two different media.
- Near: rows whose 64-bit perceptual hashes differ in at most ``max_distance`` bits. Multi-index hashing: the 64
  bits are cut into ``max_distance + 1`` bands; by the pigeonhole principle two hashes within the distance agree
  exactly on at least one band, so every true pair is a candidate (no false negatives, unlike sampled LSH). Per
  band the rows are sorted by the band's value; candidate pairs are rows ``k`` apart in that order with the same
  value, for ``k = 1, 2, ...`` while any run is still longer than ``k``: the work is the number of candidate pairs,
  each verified by a popcount. Distinct hashes only enter the bands (a million blank frames are one hash).

Connected components (``scipy.sparse.csgraph``) turn verified pairs into groups. Memory is a few arrays of
``n`` 8-byte values: about 150 bytes per row at peak for 2M rows (see ``benchmarks/bench_quality_dedup.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from onellm_data.errors import SettingError

DEFAULT_MAX_DISTANCE = 3  # pHash bits (of 64): resized and recompressed copies stay within 0-3


@dataclass(frozen=True)
class Groups:
    """``group[i]`` is row i's group number, or -1 when the row has no duplicate."""

    group: np.ndarray  # int64 [n]
    count: int  # groups with two or more rows

    def members(self) -> list[np.ndarray]:
        rows = np.flatnonzero(self.group >= 0)
        order = rows[np.argsort(self.group[rows], kind="stable")]
        cuts = np.flatnonzero(np.diff(self.group[order])) + 1
        return np.split(order, cuts) if len(order) else []


def _label_runs(sorted_rows: np.ndarray, run_start: np.ndarray, n: int) -> Groups:
    """Group numbers from runs of equal values in ``sorted_rows`` (``run_start`` marks each run's first row)."""
    run_id = np.cumsum(run_start) - 1
    sizes = np.bincount(run_id)
    dup = sizes[run_id] > 1
    group = np.full(n, -1, np.int64)
    # Renumber the runs with duplicates 0..g-1 in order of their first row, so numbering is deterministic.
    firsts = np.full(len(sizes), np.iinfo(np.int64).max)
    np.minimum.at(firsts, run_id[dup], sorted_rows[dup])
    keep = sizes > 1
    order = np.argsort(firsts[keep], kind="stable")
    number = np.full(len(sizes), -1, np.int64)
    number[np.flatnonzero(keep)[order]] = np.arange(int(keep.sum()))
    group[sorted_rows] = number[run_id]
    return Groups(group, int(keep.sum()))


def exact_groups(digests: np.ndarray) -> Groups:
    """Rows with equal digests (``digests``: uint8 [n, d], d >= 8, e.g. sha256)."""
    n = len(digests)
    if n == 0:
        return Groups(np.zeros(0, np.int64), 0)
    digests = np.ascontiguousarray(digests, np.uint8)
    prefix = digests[:, :8].copy().view(">u8").ravel()  # big-endian: sorts like the bytes
    order = np.argsort(prefix, kind="stable")
    ps = prefix[order]
    start = np.ones(n, bool)
    start[1:] = ps[1:] != ps[:-1]
    # Within an equal-prefix run, a different full digest starts a new run (checked on those rows only).
    same_prefix = np.flatnonzero(~start)
    if len(same_prefix) and digests.shape[1] > 8:
        differ = (digests[order[same_prefix], 8:] != digests[order[same_prefix - 1], 8:]).any(axis=1)
        if differ.any():
            # Rare (a prefix collision): sort those runs by the full digest so equal digests are adjacent.
            rows = np.unique(np.concatenate([same_prefix[differ], same_prefix[differ] - 1]))
            run_of = np.cumsum(start) - 1
            for run in np.unique(run_of[rows]):
                idx = np.flatnonzero(run_of == run)
                keys = [digests[order[i]].tobytes() for i in idx]
                order[idx] = order[idx][np.argsort(keys, kind="stable")]
            start[1:] = (digests[order[1:]] != digests[order[:-1]]).any(axis=1)
    return _label_runs(order, start, n)


def _bands(max_distance: int) -> list[tuple[int, int]]:
    """(shift, width) of ``max_distance + 1`` bands covering the 64 bits."""
    k = max_distance + 1
    widths = [64 // k + (1 if i < 64 % k else 0) for i in range(k)]
    shifts = np.cumsum([0, *widths[:-1]])
    return [(int(s), w) for s, w in zip(shifts, widths)]


def near_pairs(hashes: np.ndarray, max_distance: int = DEFAULT_MAX_DISTANCE) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of distinct ``hashes`` (uint64) within ``max_distance`` bits of each other."""
    if not 0 <= max_distance < 32:
        raise SettingError(f"max_distance must be in 0..31, got {max_distance}")
    hashes = np.asarray(hashes, np.uint64)
    left, right = [], []
    for shift, width in _bands(max_distance):
        band = (hashes >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        order = np.argsort(band, kind="stable")
        sb = band[order]
        # run_end[i]: one past the last position of position i's run of equal band values.
        starts = np.flatnonzero(np.r_[True, sb[1:] != sb[:-1]])
        lengths = np.diff(np.r_[starts, len(sb)])
        run_end = np.repeat(starts + lengths, lengths)
        active = np.flatnonzero(run_end - np.arange(len(sb)) > 1)
        k = 1
        while len(active):
            a, b = order[active], order[active + k]
            close = np.bitwise_count(hashes[a] ^ hashes[b]) <= max_distance
            if close.any():
                left.append(np.minimum(a[close], b[close]))
                right.append(np.maximum(a[close], b[close]))
            k += 1
            active = active[run_end[active] - active > k]
    if not left:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.unique(np.stack([np.concatenate(left), np.concatenate(right)]).astype(np.int64), axis=1)
    return pairs[0], pairs[1]


def near_groups(hashes: np.ndarray, max_distance: int = DEFAULT_MAX_DISTANCE) -> Groups:
    """Rows connected by chains of hashes within ``max_distance`` bits (equal hashes included)."""
    n = len(hashes)
    if n == 0:
        return Groups(np.zeros(0, np.int64), 0)
    distinct, inverse = np.unique(np.asarray(hashes, np.uint64), return_inverse=True)
    i, j = near_pairs(distinct, max_distance)
    m = len(distinct)
    # Graph over distinct hashes plus one edge per row to its hash: components are the groups.
    rows = np.arange(n) + m
    graph = coo_matrix((np.ones(len(i) + n, np.int8), (np.r_[i, rows], np.r_[j, inverse.ravel()])),
                       shape=(m + n, m + n))
    _, labels = connected_components(graph, directed=False)
    row_labels = labels[m:]
    order = np.argsort(row_labels, kind="stable")
    sl = row_labels[order]
    start = np.ones(n, bool)
    start[1:] = sl[1:] != sl[:-1]
    return _label_runs(order, start, n)


def hamming(a: int, b: int) -> int:
    return int(a ^ b).bit_count()
