"""Duplicate source ids: the compact exact ``SeenIds`` against a plain set, and whole conversions (single process,
process pool, partitions merged, resumed, Ray) against the rejects computed independently here and against the
previous set-based runner, byte for byte."""

import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from onellm_data.pipeline import ShardSettings, dedup, run_conversion, runner
from onellm_data.pipeline.dedup import SeenIds
from onellm_data.pipeline.executors import InProcessExecutor, ProcessPoolExecutorBackend
from onellm_data.pipeline.runner import iter_partitions
from onellm_data.converters._options import Option
from onellm_data.converters.base import Converter
from onellm_data.converters.jsonl import JsonlConverter
from onellm_data.index import finalize
from onellm_data.verify import verify
from tests.pipeline.killable import markers, run_until, tree_bytes
from tests.conftest import make_jpeg

ROOT = Path(__file__).resolve().parents[2]


class SmallSeenIds(SeenIds):
    """Tiny thresholds, so a few thousand ids go through many young merges, flushes and filter rebuilds."""

    YOUNG_MIN = 64
    YOUNG_FRACTION = 2


def reference(batches):
    seen, out = set(), []
    for batch in batches:
        flags = []
        for s in batch:
            flags.append(s in seen)
            seen.add(s)
        out.append(flags)
    return out


def run_batches(seen_ids, batches):
    return [seen_ids.check_and_add(batch) for batch in batches]


def random_batches(seed, n_batches=60, vocabulary=3000):
    rng = random.Random(seed)
    words = [f"id{rng.getrandbits(40):x}" for _ in range(vocabulary)]
    words += ["", "é", "e\u0301", "日本語", "🙂", "a\x00b", "a", "ab", "abc", "ü-ñ", "Ü-Ñ"]
    batches = []
    for _ in range(n_batches):
        size = rng.choice([0, 1, 2, 7, 50, 300])
        batches.append([rng.choice(words) for _ in range(size)])
    return batches


# ---------------------------------------------------------------------------------------------- SeenIds unit tests

def low_bits_hash(bits):
    """A deliberately weak hash: only ``bits`` distinct values (spread over the top, middle and low bits), so
    different ids collide all the time and only the exact comparison can tell them apart."""

    def fn(ids):
        h = np.array([int.from_bytes(hashlib.sha1(s.encode("utf-8", "surrogatepass")).digest()[:8], "little")
                      for s in ids], dtype=np.uint64) & np.uint64((1 << bits) - 1)
        return h * np.uint64(0x9E3779B97F4A7C15)

    return fn


@pytest.mark.parametrize("hash_fn", [dedup.default_hash, low_bits_hash(6), low_bits_hash(0)],
                         ids=["siphash", "64-values", "constant"])
@pytest.mark.parametrize("cls", [SeenIds, SmallSeenIds])
def test_same_answers_as_a_set(tmp_path, hash_fn, cls):
    batches = random_batches(1, n_batches=25 if hash_fn is not dedup.default_hash else 60)
    with cls(tmp_path, hash_fn=hash_fn) as seen:
        assert run_batches(seen, batches) == reference(batches)
        assert seen.count == len({s for b in batches for s in b})
        if hash_fn is not dedup.default_hash:
            assert seen.collisions > 0  # hash hits that were other ids, and were not rejected
    assert os.listdir(tmp_path) == []  # the spill file never had a name, or has none left


def test_many_ids_through_flushes_and_filter_rebuilds(tmp_path):
    rng = random.Random(7)
    ids = [f"{rng.getrandbits(17):06x}" for _ in range(40_000)]  # ~1 in 4 is a repeat
    batches = [ids[i:i + rng.randint(1, 900)] for i in range(0, len(ids), 450)]  # overlapping or with gaps
    with SmallSeenIds(tmp_path) as seen:
        assert run_batches(seen, batches) == reference(batches)
        assert seen._old and seen._young_k  # both tiers in use
        distinct = len({s for batch in batches for s in batch})
        assert seen.count == distinct
        # Hash + number per id (12 B) plus the filter (1-2 B): nothing grows like a Python set (~80 B).
        assert seen.nbytes <= 15 * distinct


def test_unicode_and_near_identical_ids(tmp_path):
    ids = ["é", "e\u0301", "\ud800", "\udc00", "\ud800", "é", "", "", "a\x00", "a", "a\x00", "ab", "a",
           "日本語", "日本", "🙂", "🙃", "🙂"]
    expected = reference([ids])[0]
    assert expected == [False, False, False, False, True, True, False, True, False, False, True, False, True,
                        False, False, False, False, True]
    for hash_fn in (dedup.default_hash, low_bits_hash(0)):
        with SeenIds(tmp_path, hash_fn=hash_fn) as seen:
            assert seen.check_and_add(ids) == expected
        with SeenIds(tmp_path, hash_fn=hash_fn) as seen:  # one id per batch: every match goes through the spill
            assert [seen.check_and_add([s])[0] for s in ids] == expected


def test_long_ids(tmp_path):
    long = ["x" * 5_000_000, "x" * 5_000_000 + "y", "é" * 2_000_000]
    batches = [[long[0], "x"], [long[1], long[0]], [long[2], long[1], "x", "é" * 2_000_000]]
    with SeenIds(tmp_path, hash_fn=low_bits_hash(0)) as seen:
        assert run_batches(seen, batches) == reference(batches)


def test_numbers_widen_past_32_bits(tmp_path, monkeypatch):
    monkeypatch.setattr(dedup, "PTR32_LIMIT", 300)
    batches = random_batches(3, n_batches=40, vocabulary=600)
    with SmallSeenIds(tmp_path) as seen:
        assert run_batches(seen, batches) == reference(batches)
        assert seen.count > 300
        assert {p.dtype for p in (*seen._young_p, *seen._old_p)} == {np.dtype(np.uint64)}
    with SmallSeenIds(tmp_path) as seen:
        run_batches(seen, batches[:2])
        assert {p.dtype for p in (*seen._young_p, *seen._old_p)} == {np.dtype(np.uint32)}


# ----------------------------------------------------------------------------------- iter_partitions vs the old one

def old_iter_partitions(converter, partition_size, dedup=True, spill_dir=None):
    """The runner before this change (a set of 8-byte blake2b digests), kept as the reference behaviour."""
    seen = set()
    chunk = []
    position = 0
    for record in converter.records():
        if dedup and "_reject" not in record:
            digest = int.from_bytes(hashlib.blake2b(str(record["source_id"]).encode(), digest_size=8).digest(), "little")
            if digest in seen:
                record = {"source_id": record["source_id"], "_reject": "duplicate id"}
            seen.add(digest)
        chunk.append(record)
        position += 1
        if len(chunk) == partition_size:
            yield (position - 1) // partition_size, position - len(chunk), chunk
            chunk = []
    if chunk:
        yield (position - 1) // partition_size, position - len(chunk), chunk


class ListConverter(Converter):
    name = "listed"
    modalities = ("text",)
    declared_options = (Option("records", "the records to yield, as Python objects (tests only)"),)

    def records(self):
        for record in self.options["records"]:
            yield dict(record)

    def convert(self, record):
        raise NotImplementedError


@pytest.mark.parametrize("partition_size", [1, 3, 7, 1000])
def test_iter_partitions_matches_the_old_runner(tmp_path, partition_size):
    rng = random.Random(partition_size)
    records = []
    for i in range(800):
        sid = rng.choice([rng.randrange(300), f"u{rng.randrange(200)}", f"ü{rng.randrange(50)}"])
        if i % 37 == 0:
            records.append({"source_id": str(sid), "_reject": "malformed annotation row"})
        else:
            records.append({"source_id": sid, "value": i})  # ints too: compared as str(source_id)
    conv = ListConverter(tmp_path, records=records)
    new = list(iter_partitions(conv, partition_size, spill_dir=tmp_path))
    assert new == list(old_iter_partitions(conv, partition_size))
    assert list(iter_partitions(conv, partition_size, dedup=False)) == list(old_iter_partitions(conv, partition_size,
                                                                                                 dedup=False))
    assert sum(r.get("_reject") == "duplicate id" for _, _, rs in new for r in rs) > 300


# --------------------------------------------------------------------------------------------- whole conversions

SETTINGS = ShardSettings(max_count=3, max_bytes=1 << 20, partition_size=4)
KILL_SETTINGS = ShardSettings(max_count=4, max_bytes=1 << 20, partition_size=5)  # what tests.pipeline.killable uses


def text_line(sid, answer="ok", order_ok=True):
    turns = [{"from": "human", "value": f"Say {answer}."}, {"from": "gpt", "value": str(answer)}]
    return {"id": sid, "modality": "text", "conversations": turns if order_ok else turns[::-1]}


def write_dup_source(raw: Path) -> list:
    """Repeats within a partition, across partitions, of unicode ids, of an id whose first record is rejected for
    another reason, of an int id written as a string, and a valid id equal to a malformed row's (never remembered)."""
    (raw / "media").mkdir(parents=True)
    for i in range(3):
        (raw / "media" / f"p{i}.jpg").write_bytes(make_jpeg(100 + i))

    def image(sid, i):
        return {"id": sid, "modality": "image", "media": {"jpg": f"media/p{i}.jpg"},
                "conversations": [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": f"p{i}"}]}

    lines = [
        text_line("a"), text_line("b"), text_line("a", "again"), text_line("ü-ñ"),          # partition 0
        text_line("c"), image("pic", 0), text_line("b", "later"), "{not json",              # partition 1 (line8)
        text_line("bad", order_ok=False), text_line("日本語"), text_line("ü-ñ", 2), 5,       # partition 2
        image("pic", 1), text_line("line8"), text_line("bad", "fixed"), text_line("🙂"),      # partition 3
        text_line("c", 3), text_line("a", 3), text_line("5"), text_line("e\u0301"),          # partition 4
        text_line("é"), text_line("日本語", 4), image("pic2", 2), text_line("🙂", 4),          # partition 5
        text_line("z"), text_line("z", 2),                                                   # partition 6
    ]
    lines = [{"id": 5, "modality": "text", "conversations": text_line("x")["conversations"]} if line == 5 else line
             for line in lines]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    (raw / "samples.jsonl").write_text(text + "\n", encoding="utf-8")
    return lines


def expected_duplicates(lines, partition_size):
    """(source_id, partition) of every "duplicate id" reject, derived from the raw lines alone."""
    seen, out = set(), []
    for position, line in enumerate(lines):
        if isinstance(line, str):
            continue  # a malformed row: recorded as such, its id not remembered
        sid = str(line["id"])
        if sid in seen:
            out.append((sid, position // partition_size))
        seen.add(sid)
    return out


@pytest.fixture
def dup_raw(tmp_path):
    raw = tmp_path / "raw"
    return raw, write_dup_source(raw)


def convert(raw, corpus, executor=None, settings=SETTINGS, **kw):
    return run_conversion(JsonlConverter(raw, source="dup"), corpus, settings, executor, **kw)


def duplicate_rejects(corpus):
    rejects = pd.read_parquet(corpus / "index/rejects.parquet")
    return rejects[rejects.reason == "duplicate id"]


def test_rejects_are_exactly_the_repeats(dup_raw, tmp_path):
    raw, lines = dup_raw
    summary = convert(raw, tmp_path / "c")
    expected = expected_duplicates(lines, SETTINGS.partition_size)
    assert len(expected) == 11
    dups = duplicate_rejects(tmp_path / "c")
    assert list(zip(dups.source_id, dups.partition)) == expected
    assert set(dups.source) == {"dup"} and set(dups.detail) == {""}
    assert summary.rejects == {"duplicate id": 11, "malformed annotation row": 1, "roles out of order": 1}
    samples = pd.read_parquet(tmp_path / "c/index/samples.parquet")
    # the first occurrence is the one kept: its answer, not a later copy's
    assert samples.set_index("source_id").answer_chars[["a", "b", "z"]].tolist() == [2, 2, 2]  # "ok", not a copy's
    kept = {sid for sid in samples.source_id}
    assert kept == {"a", "b", "ü-ñ", "c", "pic", "日本語", "5", "line8", "🙂", "e\u0301", "é", "pic2", "z"}
    assert verify(tmp_path / "c").ok


def test_byte_identical_to_the_previous_runner(dup_raw, tmp_path, monkeypatch):
    raw, _ = dup_raw
    convert(raw, tmp_path / "new")
    with monkeypatch.context() as m:
        m.setattr(runner, "iter_partitions", old_iter_partitions)
        convert(raw, tmp_path / "old")
    assert tree_bytes(tmp_path / "new") == tree_bytes(tmp_path / "old")


def test_process_pool_gives_the_same_bytes(dup_raw, tmp_path):
    raw, _ = dup_raw
    convert(raw, tmp_path / "one")
    convert(raw, tmp_path / "pool", ProcessPoolExecutorBackend(2))
    assert tree_bytes(tmp_path / "pool") == tree_bytes(tmp_path / "one")


@pytest.mark.parametrize("n", [2, 3, 7])
def test_partitions_merged_give_the_same_bytes(dup_raw, tmp_path, n):
    raw, _ = dup_raw
    convert(raw, tmp_path / "one")
    for i in reversed(range(n)):
        convert(raw, tmp_path / "split", shard_of=(i, n), merge_index=False)
    finalize(tmp_path / "split")
    assert tree_bytes(tmp_path / "split") == tree_bytes(tmp_path / "one")


class CrashAfter(InProcessExecutor):
    """Commits ``n`` partitions, then the driver dies (as a killed or failed run would)."""

    def __init__(self, n):
        self.n = n

    def map(self, fn, tasks, progress=None):
        for done, result in enumerate(super().map(fn, tasks, progress)):
            yield result
            if done + 1 == self.n:
                raise KeyboardInterrupt


@pytest.mark.parametrize("rerun", ["in-process", "pool", "partitions"])
@pytest.mark.parametrize("committed", [1, 3, 6])
def test_resume_keeps_the_decisions_of_committed_partitions(dup_raw, tmp_path, committed, rerun):
    raw, lines = dup_raw
    convert(raw, tmp_path / "one")
    corpus = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        convert(raw, corpus, CrashAfter(committed))
    assert len(list(corpus.glob("index/parts/dup/*.commit.json"))) == committed
    if rerun == "partitions":
        skipped = sum(convert(raw, corpus, shard_of=(i, 2), merge_index=False).partitions_skipped for i in (1, 0))
        finalize(corpus)
        assert len(duplicate_rejects(corpus)) == len(expected_duplicates(lines, SETTINGS.partition_size))
    else:
        summary = convert(raw, corpus, ProcessPoolExecutorBackend(2) if rerun == "pool" else None)
        skipped = summary.partitions_skipped
        assert summary.rejects["duplicate id"] == len(expected_duplicates(lines, SETTINGS.partition_size))
    assert skipped == committed
    assert tree_bytes(corpus) == tree_bytes(tmp_path / "one")


@pytest.mark.slow
def test_resume_after_sigkill(dup_raw, tmp_path):
    raw, lines = dup_raw
    # tests.pipeline.killable converts as source "demo" with KILL_SETTINGS
    run_conversion(JsonlConverter(raw, source="demo"), tmp_path / "reference", KILL_SETTINGS)
    corpus = tmp_path / "killed"
    run_until(raw, corpus, markers(2))
    summary = run_conversion(JsonlConverter(raw, source="demo"), corpus, KILL_SETTINGS)
    assert summary.partitions_skipped >= 2
    assert tree_bytes(corpus) == tree_bytes(tmp_path / "reference")
    assert summary.rejects["duplicate id"] == len(expected_duplicates(lines, KILL_SETTINGS.partition_size))


@pytest.mark.slow
def test_partitions_in_separate_processes_with_different_hash_seeds(dup_raw, tmp_path):
    raw, _ = dup_raw
    convert(raw, tmp_path / "one")
    script = textwrap.dedent(f"""
        import sys
        from onellm_data.pipeline import ShardSettings, run_conversion
        from onellm_data.converters.jsonl import JsonlConverter
        run_conversion(JsonlConverter({str(raw)!r}, source="dup"), {str(tmp_path / "split")!r},
                       ShardSettings(max_count=3, max_bytes=1 << 20, partition_size=4),
                       shard_of=(int(sys.argv[1]), 3), merge_index=False)
    """)
    for i in range(3):  # one after another: each run starts by deleting every temporary file in the corpus
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": str(17 * i + 1)}
        subprocess.run([sys.executable, "-c", script, str(i)], env=env, check=True, timeout=120)
    finalize(tmp_path / "split")
    assert tree_bytes(tmp_path / "split") == tree_bytes(tmp_path / "one")


@pytest.mark.slow
def test_ray_gives_the_same_bytes(dup_raw, tmp_path):
    import ray  # heavy: imported by this slow test only
    from onellm_data.pipeline.ray_executor import RayExecutor

    raw, _ = dup_raw
    convert(raw, tmp_path / "local")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        convert(raw, tmp_path / "ray", RayExecutor(workers=2))
    finally:
        if started:
            ray.shutdown()
    assert tree_bytes(tmp_path / "ray") == tree_bytes(tmp_path / "local")
