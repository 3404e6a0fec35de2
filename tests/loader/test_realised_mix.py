"""Requested vs realised mix from the index alone, and the `onellm-data mix` command."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.index import read_table
from onellm_data.loader.dataset import build_lanes
from onellm_data.loader.realised_mix import COLUMNS, realised_mix
from onellm_data.loader.schedule import Schedule
from onellm_data.recipes import load_recipe
from tests.loader.corpus_helpers import build_corpus, write_recipe


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("mix"), {"alpha": (20, "image", False), "chat": (30, "text", False)})


def test_weighted_realised_shares_follow_weights(tmp_path: Path, corpus: Path) -> None:
    mix = [{"source": "alpha", "weight": 3.0}, {"source": "chat", "weight": 1.0}]
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", mix, batch_size={"default": 2, "text": 5}))
    df = realised_mix(recipe, read_table(corpus, "samples").to_pandas(), num_batches=4000)
    assert list(df.columns) == COLUMNS
    shares = df.set_index("source")
    assert shares.loc["alpha", "requested_share"] == pytest.approx(0.75)
    assert shares.loc["alpha", "sample_share"] == pytest.approx(0.75, abs=0.02)
    assert shares["token_share"].sum() == pytest.approx(1.0)
    # epochs = samples drawn / samples available
    total = shares.loc["alpha", "epochs"] * 20 + shares.loc["chat", "epochs"] * 30
    assert shares.loc["alpha", "epochs"] * 20 / total == pytest.approx(shares.loc["alpha", "sample_share"])


def test_epoch_mode_one_epoch_is_one_pass(tmp_path: Path, corpus: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", [{"source": "alpha"}, {"source": "chat", "repeats": 2}],
                                      sampling="epoch", batch_size=4))
    samples = read_table(corpus, "samples")
    _, specs = build_lanes(recipe, samples)
    length = Schedule(specs, "epoch", 1, 0).epoch_length()
    assert length == 5 + 15  # ceil(20/4) + ceil(60/4)
    df = realised_mix(recipe, samples.to_pandas(), num_batches=length).set_index("source")
    assert df.loc["alpha", "epochs"] == pytest.approx(1.0) and df.loc["chat", "epochs"] == pytest.approx(2.0)
    assert df.loc["chat", "requested_share"] == pytest.approx(60 / 80)


def test_mix_command(tmp_path: Path, corpus: Path) -> None:
    recipe = write_recipe(tmp_path / "r.yaml", [{"source": "alpha", "weight": 1}, {"source": "chat", "weight": 1}])
    result = CliRunner().invoke(app, ["mix", str(recipe), "--corpus", str(corpus), "--batches", "200"])
    assert result.exit_code == 0, result.output
    assert "alpha" in result.output and "chat" in result.output and "50.0%" in result.output
    bad = write_recipe(tmp_path / "bad.yaml", [{"source": "nope", "weight": 1}])
    result = CliRunner().invoke(app, ["mix", str(bad), "--corpus", str(corpus)])
    assert result.exit_code == 2


def test_realised_mix_accepts_index_dataframe_columns(corpus: Path, tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", [{"modality": "image"}, {"modality": "text"}]))
    df = realised_mix(recipe, read_table(corpus, "samples").to_pandas(), num_batches=10)
    assert set(df.modality) == {"image", "text"} and isinstance(df, pd.DataFrame)
