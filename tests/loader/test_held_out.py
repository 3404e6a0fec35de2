"""``data.held_out``: a per-source fraction of samples, chosen by key hash, never trained on and walked once
for validation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer
from onellm_data.errors import CorpusError
from onellm_data.loader import make_loader
from onellm_data.loader.dataset import held_out_mask, make_validation
from onellm_data.loader.streams import key_fraction
from onellm_data.recipes import load_recipe
from tests.loader.corpus_helpers import build_corpus, fake_decode, write_recipe

SOURCES = {"alpha": (40, "image", False), "chat": (30, "text", False)}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("held_out"), SOURCES)


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer(DEMO_TOKENIZER)


def _recipe(tmp_path: Path, corpus: Path, held_out: dict | None):
    extra = {"held_out": held_out} if held_out else {}
    return load_recipe(write_recipe(tmp_path / "r.yaml", [{"source": "alpha"}, {"source": "chat"}], corpus=corpus,
                                    sampling="epoch", batch_size=4, extra_data=extra))


def _train_keys(recipe, tok) -> set[str]:
    return {k for b in make_loader(recipe, None, tok, decoder=fake_decode) for k in b["keys"]}


def test_held_out_samples_are_never_trained_and_validated_once(tmp_path, corpus, tok):
    recipe = _recipe(tmp_path, corpus, {"alpha": 0.25})
    validation = make_validation(recipe, None, tok, decoder=fake_decode)
    batches = list(validation.validation_batches())
    held = [lane.keys[i] for lane in validation.lanes for i in range(len(lane))]
    assert 4 <= len(held) <= 18 and all(k.startswith("alpha-") for k in held)  # about a quarter of alpha's 40
    assert sum(b["input_ids"].shape[0] for b in batches) == len(held)  # each held-out sample once
    assert {b["modality"] for b in batches} == {"image"} and all(b["media"] is not None for b in batches)
    trained = _train_keys(recipe, tok)
    assert trained.isdisjoint(held)
    assert len(trained) + len(held) == 70  # nothing else lost: chat keeps all 30
    assert list(make_validation(recipe, None, tok, decoder=fake_decode).validation_batches())[0]["input_ids"].equal(
        batches[0]["input_ids"])  # deterministic


def test_the_split_is_a_stable_function_of_the_key(tmp_path, corpus, tok):
    small = make_validation(_recipe(tmp_path, corpus, {"alpha": 0.2}), None, tok, decoder=fake_decode)
    large = make_validation(_recipe(tmp_path, corpus, {"alpha": 0.6}), None, tok, decoder=fake_decode)
    keys = lambda d: {lane.keys[i] for lane in d.lanes for i in range(len(lane))}  # noqa: E731
    assert keys(small) < keys(large)  # a larger fraction only adds keys


def test_no_held_out_means_no_validation_and_every_sample_trains(tmp_path, corpus, tok):
    recipe = _recipe(tmp_path, corpus, None)
    assert make_validation(recipe, None, tok) is None
    assert len(_train_keys(recipe, tok)) == 70


def test_held_out_source_absent_from_the_corpus_is_an_error(tmp_path, corpus, tok):
    with pytest.raises(CorpusError, match="held_out names 'gamma'"):
        make_validation(_recipe(tmp_path, corpus, {"gamma": 0.1}), None, tok, decoder=fake_decode)


def _held_out(keys: list[str], stored: list[str] | None, fraction: float = 0.5) -> np.ndarray:
    columns = {"key": keys, "source": ["alpha"] * len(keys)}
    if stored is not None:
        columns["stored_key"] = stored
    recipe = SimpleNamespace(name="r", data=SimpleNamespace(held_out={"alpha": fraction}))
    return held_out_mask(recipe, pa.table(columns))


def test_conversations_of_one_stored_medium_fall_on_one_side():
    """Five conversations per stored image: hashed by the image's stored key, never split across the two sides."""
    keys = [f"alpha-{i}" for i in range(200)]
    stored = [f"alpha-{i - i % 5}" for i in range(200)]
    mask = _held_out(keys, stored).reshape(40, 5)
    assert (mask.all(axis=1) | ~mask.any(axis=1)).all()
    assert 0 < mask[:, 0].sum() < 40
    by_own_key = _held_out(keys, None).reshape(40, 5)
    assert not (by_own_key.all(axis=1) | ~by_own_key.any(axis=1)).all()  # the grouping is what keeps them together


def test_the_split_is_salted_apart_from_subsets():
    """``subset`` keeps the keys whose unsalted hash is small; the held-out hash is salted, so a recipe that
    subsets and holds out the same fraction does not hold out exactly what the subset dropped."""
    keys = [f"alpha-{i}" for i in range(400)]
    held = _held_out(keys, None)
    assert not np.array_equal(held, key_fraction(keys) < 0.5)
    assert not np.array_equal(held, key_fraction(keys) >= 0.5)
