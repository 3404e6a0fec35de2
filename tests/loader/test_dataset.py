"""The mixed loader over real shards: single-modality batches, mix, coverage across ranks × workers, resume."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer
from onellm_data.errors import CorpusError
from onellm_data.loader.dataset import make_loader
from onellm_data.loader.template import IGNORE_INDEX
from onellm_data.recipes import load_recipe
from tests.loader.corpus_helpers import build_corpus, fake_decode, take, write_recipe

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"alpha": (23, "image", False), "beta": (11, "image", True), "chat": (17, "text", False)}


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer(DEMO_TOKENIZER)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("loader"), SOURCES)


def _recipe(tmp_path: Path, corpus: Path, **kw):
    mix = kw.pop("mix", [{"source": "alpha"}, {"source": "beta"}, {"source": "chat"}])
    return load_recipe(write_recipe(tmp_path / "r.yaml", mix, corpus=corpus, **kw))


def _same(a: list[dict], b: list[dict]) -> bool:
    def eq(x, y):
        if isinstance(x, torch.Tensor):
            return isinstance(y, torch.Tensor) and torch.equal(x, y)
        return x == y

    return len(a) == len(b) and all(x.keys() == y.keys() and all(eq(x[k], y[k]) for k in x) for x, y in zip(a, b))


def test_batches_are_single_modality_and_padded(tmp_path: Path, corpus: Path, tok: Tokenizer) -> None:
    recipe = _recipe(tmp_path, corpus)
    batches = take(make_loader(recipe, None, tok, decoder=fake_decode), 30)
    assert {b["modality"] for b in batches} == {"image", "text"}
    for b in batches:
        modality = b["modality"]
        assert {SOURCES[s][1] for s in b["sources"]} == {modality}
        assert b["input_ids"].shape == b["labels"].shape == (len(b["keys"]), 96)
        assert b["input_ids"].dtype == b["labels"].dtype == torch.long
        assert (b["media"] is None) == (modality == "text")
        if b["media"] is not None:
            assert b["media"].shape == (len(b["keys"]), 3)
        # Padding is never a target; every row has targets.
        assert ((b["labels"] != IGNORE_INDEX).sum(1) > 0).all()


@pytest.mark.parametrize("fmt", ["chat", "caption"])
def test_labels_decode_to_the_answers_in_the_recipe_format(tmp_path: Path, corpus: Path, tok: Tokenizer,
                                                           fmt: str) -> None:
    """The recipe decides the format for every sample; the "task: caption" tag on source beta changes nothing."""
    path = write_recipe(tmp_path / "r.yaml", [{"source": "alpha"}, {"source": "beta"}, {"source": "chat"}],
                        corpus=corpus, seq_len=96)
    path.write_text(f"format: {fmt}\n" + path.read_text())
    recipe = load_recipe(path)
    answers = {}
    for name in SOURCES:
        for line in (corpus.parent / "raw" / name / "samples.jsonl").read_text().splitlines():
            rec = json.loads(line)
            answers[f"{name}-{rec['id']}"] = rec["conversations"][1]["value"]
    seen = set()
    for b in take(make_loader(recipe, None, tok, decoder=fake_decode), 16):
        for key, source, ids, labels in zip(b["keys"], b["sources"], b["input_ids"], b["labels"]):
            seen.add(source)
            target = tok.decode([int(t) for t in labels if t != IGNORE_INDEX])
            if fmt == "caption":  # the caption alone, no template around it
                assert target == answers[key]
                assert "Human" not in tok.decode([int(t) for t in ids])
            else:
                assert target == f"{answers[key]}\n###"
                assert "### Human:" in tok.decode([int(t) for t in ids])
    assert seen == set(SOURCES)


def test_weighted_mix_converges_to_weights(tmp_path: Path, corpus: Path, tok: Tokenizer) -> None:
    mix = [{"source": "alpha", "weight": 1.0}, {"source": "beta", "weight": 2.0}, {"source": "chat", "weight": 3.0}]
    recipe = _recipe(tmp_path, corpus, mix=mix, batch_size={"default": 2, "text": 4})
    counts: Counter = Counter()
    for b in take(make_loader(recipe, None, tok, decoder=fake_decode), 600):
        counts.update(b["sources"])
    total = sum(counts.values())
    for source, want in (("alpha", 1 / 6), ("beta", 2 / 6), ("chat", 3 / 6)):
        assert abs(counts[source] / total - want) < 0.04, (source, counts)


@pytest.mark.parametrize("world_size,workers", [(1, 0), (2, 2), (3, 1)])
def test_epoch_covers_every_sample_exactly_once(tmp_path: Path, corpus: Path, tok: Tokenizer,
                                                world_size: int, workers: int) -> None:
    recipe = _recipe(tmp_path, corpus, sampling="epoch", batch_size={"default": 2, "text": 3})
    expected = set(pq.read_table(corpus / "index" / "samples.parquet", columns=["key"]).column("key").to_pylist())
    per_rank = []
    for rank in range(world_size):
        loader = make_loader(recipe, None, tok, rank=rank, world_size=world_size, num_workers=workers,
                             decoder=fake_decode)
        per_rank.append([b for b in loader])
    seen = Counter(k for batches in per_rank for b in batches for k in b["keys"])
    assert set(seen) == expected and set(seen.values()) == {1}
    # Ranks step in lockstep: as many batches each, the i-th batch of every rank the same modality. A rank with
    # no share of a tail batch gets a stand-in that trains nothing (one padded row, no target, zero media).
    assert len({len(batches) for batches in per_rank}) == 1
    for steps in zip(*per_rank):
        assert len({b["modality"] for b in steps}) == 1


def test_a_rank_without_a_share_of_a_tail_batch_gets_a_stand_in(tmp_path: Path, tok: Tokenizer) -> None:
    """5 images, 2 per rank, 2 ranks: the tail batch holds 1 sample, so rank 1 has none of it. It must still take
    that step with the same modality (FSDP gathers each block's weights on every rank together), with a batch
    that trains nothing: one padded row, no target, zero media. Alone (one rank) nothing is added."""
    corpus = build_corpus(tmp_path, {"pics": (5, "image", False)})
    recipe = _recipe(tmp_path, corpus, mix=[{"source": "pics"}], sampling="epoch", batch_size=2)
    ranks = [list(make_loader(recipe, None, tok, rank=r, world_size=2, decoder=fake_decode)) for r in range(2)]
    assert [len(batches) for batches in ranks] == [2, 2]
    assert [len(b["keys"]) for b in ranks[0]] == [2, 1] and [len(b["keys"]) for b in ranks[1]] == [2, 0]
    stand_in = ranks[1][1]
    assert stand_in["placeholder"] and stand_in["modality"] == "image" and stand_in["sources"] == []
    assert stand_in["input_ids"].shape == (1, 96) and (stand_in["labels"] == IGNORE_INDEX).all()
    assert stand_in["media"].shape == (1, 3, 224, 224) and not stand_in["media"].any()
    alone = list(make_loader(recipe, None, tok, rank=0, world_size=1, decoder=fake_decode))
    assert [len(b["keys"]) for b in alone] == [2, 2, 1] and not any(b.get("placeholder") for b in alone)


def test_second_epoch_reshuffles_and_covers_again(tmp_path: Path, corpus: Path, tok: Tokenizer) -> None:
    recipe = _recipe(tmp_path, corpus, sampling="epoch")
    loader = make_loader(recipe, None, tok, decoder=fake_decode)
    first = [k for b in loader for k in b["keys"]]
    second = [k for b in loader for k in b["keys"]]
    assert sorted(first) == sorted(second) and first != second
    assert loader.state_dict()["schedule"]["epoch"] == 2


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_gives_identical_next_batches(tmp_path: Path, corpus: Path, tok: Tokenizer, workers: int) -> None:
    recipe = _recipe(tmp_path, corpus)
    run = make_loader(recipe, None, tok, num_workers=workers, decoder=fake_decode)
    head = take(run, 7)
    state = json.loads(json.dumps(run.state_dict()))  # survives serialisation
    tail = take(run, 9)  # a fresh iteration continues from the state
    resumed = make_loader(recipe, None, tok, num_workers=workers, decoder=fake_decode)
    resumed.load_state_dict(state)
    assert _same(take(resumed, 9), tail)
    straight = take(make_loader(recipe, None, tok, num_workers=workers, decoder=fake_decode), 16)
    assert _same(straight, head + tail)
    assert len(json.dumps(state)) < 1024


def test_state_from_other_setup_is_refused(tmp_path: Path, corpus: Path, tok: Tokenizer) -> None:
    recipe = _recipe(tmp_path, corpus)
    state = make_loader(recipe, None, tok, decoder=fake_decode).state_dict()
    other = make_loader(recipe, None, tok, world_size=2, decoder=fake_decode)
    with pytest.raises(ValueError, match="does not fit"):
        other.load_state_dict(state)


_RESUME_SCRIPT = """
import json, sys, torch
from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer
from onellm_data.loader.dataset import make_loader
from onellm_data.recipes import load_recipe
from tests.loader.corpus_helpers import fake_decode
recipe, state_path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
loader = make_loader(load_recipe(recipe), None, Tokenizer(DEMO_TOKENIZER), num_workers=2, decoder=fake_decode)
if mode == "resume":
    loader.load_state_dict(json.loads(open(state_path).read()))
out = []
for i, b in enumerate(loader):
    if mode == "save" and i == 5:
        open(state_path, "w").write(json.dumps(loader.state_dict()))
    out.append([b["keys"], b["input_ids"].tolist(), None if b["media"] is None else b["media"].tolist()])
    if len(out) == (14 if mode == "save" else 8):
        break
print(json.dumps(out))
"""


@pytest.mark.slow
def test_resume_across_process_restart(tmp_path: Path, corpus: Path) -> None:
    recipe = write_recipe(tmp_path / "r.yaml", [{"source": "alpha"}, {"source": "beta"}, {"source": "chat"}],
                          corpus=corpus)
    state = tmp_path / "state.json"

    def run(mode: str) -> list:
        proc = subprocess.run([sys.executable, "-c", _RESUME_SCRIPT, str(recipe), str(state), mode], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        return json.loads(proc.stdout)

    straight = run("save")
    assert run("resume") == straight[6:14]


def _corrupt_one_sample(corpus: Path, source: str) -> str:
    table = pq.read_table(corpus / "index" / "samples.parquet").to_pandas()
    row = table[table.source == source].sort_values("key").iloc[3]
    path = corpus / row.shard
    data = bytearray(path.read_bytes())
    start = int(row.tar_offset) + 512  # the json member's data
    data[start:start + 8] = b"\xff\xfe{{{{{{"
    path.write_bytes(bytes(data))
    return str(row.key)


def test_corrupt_sample_is_skipped_logged_and_excluded(tmp_path: Path, tok: Tokenizer,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    corpus = build_corpus(tmp_path, {"chat": (12, "text", False)})
    bad = _corrupt_one_sample(corpus, "chat")
    exclude = tmp_path / "exclude.txt"
    recipe = _recipe(tmp_path, corpus, mix=[{"source": "chat"}], sampling="epoch",
                     extra_data={"exclude_file": str(exclude)})
    with caplog.at_level(logging.WARNING):
        keys = [k for b in make_loader(recipe, None, tok) for k in b["keys"]]
    assert len(keys) == 11 and bad not in keys
    assert any(bad in r.getMessage() and "chat-" in r.getMessage() and ".tar" in r.getMessage()
               for r in caplog.records)
    assert exclude.read_text().split() == [bad]
    # A later run honours the exclude list: the bad sample is not even attempted.
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = [k for b in make_loader(recipe, None, tok) for k in b["keys"]]
    assert sorted(again) == sorted(keys) and not caplog.records


def test_failure_budget_stops_the_run(tmp_path: Path, tok: Tokenizer) -> None:
    corpus = build_corpus(tmp_path, {"chat": (6, "text", False)})
    for shard in (corpus / "text" / "chat").glob("*.tar"):
        shard.write_bytes(b"\0" * shard.stat().st_size)  # every sample unreadable
    recipe = _recipe(tmp_path, corpus, mix=[{"source": "chat"}], extra_data={"max_failures": 4})
    with pytest.raises(CorpusError, match="4 consecutive unreadable samples"):
        take(make_loader(recipe, None, tok), 10)
