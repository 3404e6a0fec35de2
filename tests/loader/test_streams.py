"""Lane streams: seeded shard/block order, position → row mapping, direct sample reads from tars."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

from onellm_data.index import read_table
from onellm_data.loader.streams import LaneOrder, ShardReader, build_lane, key_fraction, lane_tables
from tests.loader.corpus_helpers import build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("streams"), {"alpha": (23, "image", False), "chat": (9, "text", False)})


def _lane(corpus: Path, source: str = "alpha"):
    samples = read_table(corpus, "samples")
    (entry, modality, rows), = lane_tables(samples, [(source, None, 1.0)])
    return build_lane(source, entry, modality, rows)


def test_each_epoch_is_a_permutation_and_epochs_differ(corpus: Path) -> None:
    lane = _lane(corpus)
    assert len(lane.shards) == 5  # 5 samples per shard
    order = LaneOrder(lane, seed=3, lane_index=0, block_shards=2)
    n = len(lane)
    epochs = [[order.row_at(e * n + i) for i in range(n)] for e in range(3)]
    for rows in epochs:
        assert sorted(rows) == list(range(n))
    assert epochs[0] != epochs[1] != epochs[2]
    # Same seed, fresh object (a resumed worker): same order; another seed: another order.
    again = LaneOrder(lane, seed=3, lane_index=0, block_shards=2)
    assert [again.row_at(n + i) for i in range(n)] == epochs[1]
    other = LaneOrder(lane, seed=4, lane_index=0, block_shards=2)
    assert [other.row_at(i) for i in range(n)] != epochs[0]


def test_blocks_keep_reads_local(corpus: Path) -> None:
    lane = _lane(corpus)
    order = LaneOrder(lane, seed=0, lane_index=0, block_shards=2)
    shard_of = np.searchsorted(lane.shard_starts, [order.row_at(i) for i in range(len(lane))], side="right") - 1
    _, block_starts = order._plan(0)
    assert len(block_starts) == 4  # 5 shards in blocks of 2, 2, 1
    for a, b in zip(block_starts[:-1], block_starts[1:]):
        assert len(set(shard_of[a:b])) <= 2  # a block's positions come from its own 2 shards only


def test_reader_matches_tarfile(corpus: Path) -> None:
    lane = _lane(corpus)
    reader = ShardReader(corpus)
    for row in (0, 7, len(lane) - 1):
        shard = lane.shards[np.searchsorted(lane.shard_starts, row, side="right") - 1]
        key = str(lane.keys[row])
        members = reader.read(shard, int(lane.offsets[row]), int(lane.spans[row]), key)
        with tarfile.open(corpus / shard) as tar:
            expected = {m.name.split(".", 1)[1]: tar.extractfile(m).read() for m in tar if m.name.startswith(key + ".")}
        assert members == expected and set(members) == {"json", "jpg"}
    reader.close()


def test_subset_is_stable_by_key(corpus: Path) -> None:
    samples = read_table(corpus, "samples")
    (_, _, half), = lane_tables(samples, [("alpha", None, 0.5)])
    keys = half.column("key").to_pylist()
    assert 0 < len(keys) < 23
    assert all(f < 0.5 for f in key_fraction(keys))


def test_modality_entry_takes_sources_not_named_elsewhere(corpus: Path) -> None:
    samples = read_table(corpus, "samples")
    lanes = lane_tables(samples, [("alpha", None, 1.0), (None, "image", 1.0), (None, "text", 1.0)])
    sizes = {(i, m): t.num_rows for i, m, t in lanes}
    assert sizes == {(0, "image"): 23, (2, "text"): 9}  # entry 1 (image) has nothing left: alpha is named
