"""--recipe adds the requested vs realised mix from the loader's schedule; a bad recipe becomes a note."""

from __future__ import annotations

from pathlib import Path

import pytest

from onellm_data.stats import compute_stats, validate
from onellm_data.stats.markdown import render_markdown
from tests.loader import corpus_helpers



def test_recipe_mix_rows(tmp_path: Path) -> None:
    corpus = corpus_helpers.build_corpus(tmp_path, {"a_img": (12, "image", False), "b_txt": (6, "text", False)})
    recipe = corpus_helpers.write_recipe(tmp_path / "r.yaml", [{"source": "a_img", "weight": 3.0},
                                                               {"source": "b_txt", "weight": 1.0}], corpus=corpus)
    stats = compute_stats(corpus, recipe=recipe, mix_batches=200)
    mix = stats["mix"]
    assert mix["error"] is None, mix["error"]
    rows = {r["source"]: r for r in mix["rows"]}
    assert set(rows) == {"a_img", "b_txt"}
    assert rows["a_img"]["requested_share"] == pytest.approx(0.75)
    assert rows["b_txt"]["requested_share"] == pytest.approx(0.25)
    assert sum(r["sample_share"] for r in mix["rows"]) == pytest.approx(1.0)
    assert all(r["epochs"] > 0 for r in mix["rows"])
    assert {m["modality"] for m in mix["by_modality"]} == {"image", "text"}
    assert validate(stats) == []
    assert "## Mix of recipe" in render_markdown(stats)


def test_recipe_naming_an_absent_source_is_noted(tmp_path: Path) -> None:
    corpus = corpus_helpers.build_corpus(tmp_path, {"a_img": (4, "image", False)})
    recipe = corpus_helpers.write_recipe(tmp_path / "r.yaml", [{"source": "nope", "weight": 1.0}], corpus=corpus)
    stats = compute_stats(corpus, recipe=recipe, mix_batches=10)
    assert stats["mix"]["rows"] == [] and stats["mix"]["error"]
    assert any("mix not computed" in n for n in stats["notes"])
    assert stats["totals"]["items"] == 4 and validate(stats) == []
