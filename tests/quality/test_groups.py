"""Exact and near grouping against brute force on planted data."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from onellm_data.quality.groups import exact_groups, near_groups, near_pairs


def _brute_pairs(h: np.ndarray, t: int) -> set[tuple[int, int]]:
    return {(i, j) for i, j in itertools.combinations(range(len(h)), 2) if int(h[i] ^ h[j]).bit_count() <= t}


@pytest.mark.parametrize("t", [0, 1, 3, 6])
def test_near_pairs_match_brute_force(t):
    rng = np.random.default_rng(t)
    base = rng.integers(0, 2**63, 60, dtype=np.int64).astype(np.uint64)
    flips = [np.uint64(sum(1 << int(b) for b in rng.choice(64, k, replace=False))) for k in range(0, 9)]
    h = np.concatenate([base, base[:9] ^ np.array(flips, np.uint64), np.zeros(3, np.uint64) + base[0]])
    i, j = near_pairs(h, t)
    assert set(zip(i.tolist(), j.tolist())) == _brute_pairs(h, t)


def test_near_groups_chain_and_leave_unique_rows_alone():
    a = np.uint64(0xF0F0_F0F0_0F0F_0F0F)
    h = np.array([a, a ^ np.uint64(0b11), a ^ np.uint64(0b1111), ~a, a], np.uint64)
    g = near_groups(h, 2)
    assert g.count == 1
    assert g.group.tolist() == [0, 0, 0, -1, 0]  # 0-1 (2 bits), 1-2 (2 bits): a chain; ~a far from all


def test_exact_groups_confirm_full_digest_after_prefix_collision():
    rng = np.random.default_rng(0)
    d = rng.integers(0, 256, (8, 32), dtype=np.uint8)
    d[3] = d[1]  # a true copy
    d[5, :8] = d[1, :8]  # same 8-byte prefix, different digest
    g = exact_groups(d)
    assert g.count == 1
    assert [m.tolist() for m in g.members()] == [[1, 3]]
    assert g.group[5] == -1


def test_empty_inputs():
    assert exact_groups(np.zeros((0, 32), np.uint8)).count == 0
    assert near_groups(np.zeros(0, np.uint64)).count == 0
    with pytest.raises(ValueError, match="max_distance"):
        near_pairs(np.zeros(2, np.uint64), 40)
