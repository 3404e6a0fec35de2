"""The three merged index tables are published as one unit: a reader in another process never sees a mix."""

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pyarrow.compute as pc

from onellm_data.converters import make_converter
from onellm_data.index import read_tables
from onellm_data.pipeline import ShardSettings, run_conversion
from tests.pipeline.killable import ROOT

# Alternates the published index between all partitions and all but 0 and 3 (3 holds every reject, 0 some
# shards), as fast as it can, so each of the three tables differs between the two versions.
REPUBLISH = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from onellm_data.index import finalize
    parts = Path(sys.argv[1]) / "index/parts/demo"
    for i in range(int(sys.argv[2])):
        for p in (0, 3):
            os.replace(parts / f"{p:06d}.commit.json", parts / f"aside{p}.json")
        finalize(Path(sys.argv[1]))
        for p in (0, 3):
            os.replace(parts / f"aside{p}.json", parts / f"{p:06d}.commit.json")
        finalize(Path(sys.argv[1]))
    """
)


def _converted(jsonl_raw, tmp_path) -> Path:
    raw, _ = jsonl_raw
    corpus = tmp_path / "c"
    run_conversion(make_converter("jsonl", raw, source="demo"), corpus,
                   ShardSettings(max_count=4, partition_size=5))
    return corpus


def _read_while_republishing(corpus: Path, times: int, read: Callable[[], None]) -> None:
    """Call ``read`` over and over while another process republishes the index ``times`` times."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", REPUBLISH, str(corpus), str(times)], env=env)
    reads = 0
    try:
        while writer.poll() is None or reads == 0:
            read()
            reads += 1
    finally:
        writer.wait()
    assert writer.returncode == 0  # and at least one read (the loop runs until both hold); how many is timing


def test_readers_see_old_or_new_index_never_a_mix(jsonl_raw, tmp_path):
    corpus = _converted(jsonl_raw, tmp_path)

    def read() -> None:
        tables = read_tables(corpus, {"samples": ["shard"], "shards": ["shard"], "rejects": ["partition"]})
        sample_shards = set(pc.unique(tables["samples"].column("shard")).to_pylist())
        listed = set(tables["shards"].column("shard").to_pylist())
        with_p0 = any("-000000-" in s for s in listed)
        assert sample_shards == listed, "samples and shards tables from different merges"
        assert (tables["rejects"].num_rows > 0) == with_p0, "rejects table from a different merge"

    _read_while_republishing(corpus, 40, read)


def test_stats_reads_one_published_version(jsonl_raw, tmp_path):
    """``stats`` reads samples, shards and rejects together: its totals never mix two merges."""
    from onellm_data.stats import compute_stats

    corpus = _converted(jsonl_raw, tmp_path)
    full = compute_stats(corpus)["totals"]
    assert full["rejects"] > 0

    def read() -> None:
        totals = compute_stats(corpus)["totals"]
        assert (totals["rejects"] > 0) == (totals["shards"] == full["shards"]), "tables from different merges"
        assert (totals["items"] == full["items"]) == (totals["shards"] == full["shards"])

    _read_while_republishing(corpus, 15, read)


def test_read_tables_can_leave_out_columns_an_older_corpus_lacks(jsonl_raw, tmp_path):
    import pyarrow as pa
    import pytest

    from onellm_data.errors import CorpusError

    raw, _ = jsonl_raw
    corpus = tmp_path / "c"
    run_conversion(make_converter("jsonl", raw, source="demo"), corpus, ShardSettings(max_count=4))
    wanted = {"samples": ["source", "no_such_column"]}
    got = read_tables(corpus, wanted, dictionary=("source",), present_only=True)["samples"]
    assert got.column_names == ["source"] and pa.types.is_dictionary(got.column("source").type)
    with pytest.raises((pa.ArrowInvalid, KeyError, CorpusError)):
        read_tables(corpus, wanted)
