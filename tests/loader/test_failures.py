"""The failure budget counts per source: a source that loses its shards stops the run, named."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer
from onellm_data.errors import CorpusError
from onellm_data.loader.dataset import make_loader
from onellm_data.loader.failures import FailureBudget
from onellm_data.recipes import load_recipe
from tests.loader.corpus_helpers import build_corpus, fake_decode, take, write_recipe


def _loader(tmp_path: Path, corpus: Path):
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", [{"source": "alpha", "weight": 1.0},
                                                            {"source": "beta", "weight": 1.0}], corpus=corpus))
    return make_loader(recipe, corpus, Tokenizer(DEMO_TOKENIZER), decoder=fake_decode)


def test_a_source_whose_shards_are_gone_is_named(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path, {"alpha": (20, "image", False), "beta": (20, "image", False)})
    for shard in (corpus / "image/beta").glob("*.tar"):
        shard.unlink()
    # The other source keeps delivering, so the consecutive-failure budget alone never fires.
    with pytest.raises(CorpusError, match=r"source 'beta': only 0 of 16 drawn samples readable"):
        take(_loader(tmp_path, corpus), 200)


def test_a_source_missing_a_minority_of_its_samples_keeps_training(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path, {"alpha": (20, "image", False), "beta": (20, "image", False)})
    sorted((corpus / "image/beta").glob("*.tar"))[0].unlink()  # 5 of beta's 20 samples
    batches = take(_loader(tmp_path, corpus), 60)
    sources = {s for b in batches for s in b["sources"]}
    assert len(batches) == 60 and sources == {"alpha", "beta"}


def test_total_budget_counts_failures_spread_over_sources() -> None:
    budget = FailureBudget(max_failures=5)
    error = OSError("unreadable")
    with pytest.raises(CorpusError, match=r"6 of \d+ drawn samples unreadable \(by source: b: 3, a: 3; last: key5"):
        for i in range(6):
            for _ in range(20):
                budget.ok("a" if i % 2 else "b")
            budget.failed("a" if i % 2 else "b", f"key{i}", error)
