"""Recipe loading: every shipped recipe parses; errors name file, line and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onellm_data.recipes import PARTS, RecipeError, check_corpus, load_recipe
from tests.loader.corpus_helpers import build_corpus

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.yaml"))
GOOD = """\
name: t
model:
  preset: tiny
trainable: [llm]
frozen: [clip]
data:
  seq_len: 64
  batch_size: {default: 2, video: 1}
  mix:
    - source: alpha
      weight: 1.0
    - modality: text
      weight: 0.5
optim:
  lr: 1.0e-4
schedule:
  max_steps: 3
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


def test_shipped_recipes_are_the_expected_stages() -> None:
    assert {p.stem for p in RECIPES} >= {"stage1_image", "stage2_video_audio_point", "stage3_depth_normal_imu_fmri",
                                         "instruct", "demo"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_loads(path: Path) -> None:
    recipe = load_recipe(path)
    assert recipe.name == path.stem
    assert set(recipe.trainable) | set(recipe.frozen) <= set(PARTS) and recipe.trainable
    assert recipe.optim.betas == (0.9, 0.95)
    assert recipe.data.mix and recipe.data.seq_len >= 64
    json.dumps(recipe.to_dict())  # the checkpoint snapshot is plain JSON


def test_stage_intent() -> None:
    by_name = {p.stem: load_recipe(p) for p in RECIPES}
    for stage in ("stage1_image", "stage2_video_audio_point", "stage3_depth_normal_imu_fmri"):
        assert set(by_name[stage].frozen) == {"clip", "llm"}  # the paper's alignment: LLM frozen
        assert by_name[stage].model.preset == "onellm-7b"
    assert by_name["instruct"].trainable == ("llm",)
    assert {e.source for e in by_name["stage1_image"].data.mix} == {"laion"}
    stage3 = {by_name["stage3_depth_normal_imu_fmri"].data.mix[i].source for i in range(8)}
    assert {"cc3m_depth", "cc3m_normal", "ego4d_imu_align", "nsd_fmri_align"} <= stage3
    assert by_name["demo"].model.preset == "tiny" and by_name["demo"].tokenizer.is_file()


def test_good_recipe_fields(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, GOOD))
    assert recipe.data.batch_size_for("video") == 1 and recipe.data.batch_size_for("image") == 2
    assert recipe.data.mix[1].modality == "text" and recipe.data.mix[1].name == "modality:text"
    assert recipe.schedule.max_steps == 3 and recipe.optim.lr == 1e-4


@pytest.mark.parametrize("old,new,line,key,message", [
    ("  seq_len: 64\n", "  seq_len: 64\n  seqlen: 3\n", 8, "data.seqlen", "unknown key 'seqlen'"),
    ("      weight: 1.0\n", "      weight: -1.0\n", 11, "data.mix[0].weight", "must be > 0"),
    ("      weight: 1.0\n    - modality: text\n      weight: 0.5\n", "      weight: 0\n    - modality: text\n      weight: 0\n",
     11, "data.mix[0].weight", "must be > 0"),
    ("    - modality: text\n", "    - modality: txt\n", 12, "data.mix[1].modality", "not one of"),
    ("frozen: [clip]\n", "frozen: [clip, llm]\n", 5, "frozen", "both trainable and frozen"),
    ("  lr: 1.0e-4\n", "  lr: 1.0e-4\n  betas: [0.9]\n", 16, "optim.betas", "a list of 2 values"),
    ("    - source: alpha\n", "    - source: alpha\n      modality: image\n", 10, "data.mix[0]", "exactly one"),
])
def test_errors_name_file_line_and_key(tmp_path: Path, old: str, new: str, line: int, key: str, message: str) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert (err.value.file, err.value.line, err.value.key) == (str(path), line, key)
    assert message in str(err.value) and f"{path}:{line}: {key}:" in str(err.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("  seq_len: 64\n", "  seq_len: [64\n"))
    with pytest.raises(RecipeError, match=r"r\.yaml:\d+: invalid YAML"):
        load_recipe(path)


def test_missing_corpus(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, GOOD))
    with pytest.raises(RecipeError, match="no corpus"):
        check_corpus(recipe)
    with pytest.raises(RecipeError, match="missing corpus") as err:
        check_corpus(recipe, tmp_path / "nowhere")
    assert err.value.key == "data.corpus"


def test_source_absent_from_index(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path, {"alpha": (3, "image", False), "chat": (2, "text", False)})
    assert check_corpus(load_recipe(_write(tmp_path, GOOD)), corpus) == corpus
    path = _write(tmp_path, GOOD.replace("source: alpha", "source: gamma"))
    with pytest.raises(RecipeError) as err:
        load_recipe(path, corpus=corpus)
    assert (err.value.line, err.value.key) == (10, "data.mix[0].source")
    assert "'gamma' is absent from the index" in str(err.value) and "alpha" in str(err.value)


@pytest.mark.parametrize("old,new,line,key,message", [
    ("      weight: 1.0\n", "      weight: .nan\n", 11, "data.mix[0].weight", "finite"),
    ("      weight: 1.0\n", "      weight: .inf\n", 11, "data.mix[0].weight", "finite"),
    ("      weight: 0.5\n", "      weight: -.inf\n", 13, "data.mix[1].weight", "finite"),
    ("  seq_len: 64\n", "  seq_len: 64\n  drop_last: 'no'\n", 8, "data.drop_last", "expected true or false"),
    ("  seq_len: 64\n", "  seq_len: 64\n  drop_last: 1\n", 8, "data.drop_last", "expected true or false"),
    ("  seq_len: 64\n", "  seq_len: 1e11\n", 7, "data.seq_len", "expected an integer"),
    ("  seq_len: 64\n", "  seq_len: 100000000000\n", 7, "data.seq_len", "must be <="),
    ("  seq_len: 64\n", "  seq_len: 64.0\n", 7, "data.seq_len", "expected an integer"),
    ("  batch_size: {default: 2, video: 1}\n", "  batch_size: {default: 2, video: 100000000}\n", 8,
     "data.batch_size.video", "must be <="),
    ("  batch_size: {default: 2, video: 1}\n", "  batch_size: {video: 1}\n", 8, "data.batch_size",
     "'default'"),
    ("  lr: 1.0e-4\n", "  lr: .nan\n", 15, "optim.lr", "finite"),
    ("  lr: 1.0e-4\n", "  lr: '1e-4'\n", 15, "optim.lr", "expected a number"),
    ("  max_steps: 3\n", "  max_steps: true\n", 17, "schedule.max_steps", "expected an integer"),
    ("  preset: tiny\n", "  preset: tiny\n  overrides: {norm_eps: .nan}\n", 4, "model.overrides.norm_eps", "finite"),
    ("  seq_len: 64\n", "  seq_len: 64\n  seq_len: 65\n", 8, "", "duplicate key 'seq_len'"),
    ("trainable: [llm]\n", "trainable: []\n", 4, "trainable", "must not be empty"),
    ("trainable: [llm]\n", "trainable: llm\n", 4, "trainable", "expected a list"),
    ("      weight: 1.0\n", "      weight: 1.0\n      repeats: 0\n", 12, "data.mix[0].repeats", "must be > 0"),
    ("schedule:\n  max_steps: 3\n", "schedule:\n  warmup_steps: 1\n", 16, "schedule", "epochs or max_steps"),
])
def test_nonsense_values_are_refused_with_file_line_and_key(tmp_path: Path, old: str, new: str, line: int, key: str,
                                                           message: str) -> None:
    """Values YAML happily parses but no recipe means: NaN/inf weights, quoted booleans, huge sizes, ..."""
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert (err.value.file, err.value.line, err.value.key) == (str(path), line, key), str(err.value)
    assert message in str(err.value)


def test_one_integer_batch_size_is_the_default(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, GOOD.replace("  batch_size: {default: 2, video: 1}\n", "  batch_size: 3\n")))
    assert recipe.data.batch_size == {"default": 3} and recipe.data.batch_size_for("video") == 3
    assert recipe.data.mix[0].line == 10 and recipe.data.drop_last is False


@pytest.mark.parametrize("overrides, key, message", [
    ("{dimm: 64}", "model.overrides.dimm", "unknown model field"),
    ("{dim: '64'}", "model.overrides.dim", "expected an integer"),
    ("{upm_heads: 5}", "model.overrides", "not divisible by 5"),
])
def test_model_overrides_are_typed_like_the_model_config(tmp_path: Path, overrides: str, key: str,
                                                          message: str) -> None:
    from model.train import recipe_model_config

    path = _write(tmp_path, GOOD.replace("  preset: tiny\n", f"  preset: tiny\n  overrides: {overrides}\n"))
    with pytest.raises(RecipeError) as err:
        recipe_model_config(load_recipe(path))
    assert err.value.key == key and err.value.line in (3, 4) and message in str(err.value)
    assert recipe_model_config(load_recipe(_write(tmp_path, GOOD))).dim == 64


@pytest.mark.parametrize("text, key", [("", "name"), ("- a\n- b\n", ""), ("name: t\n", "model")])
def test_even_structural_errors_have_a_line(tmp_path: Path, text: str, key: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert err.value.key == key and err.value.line == 1 and str(err.value).startswith(f"{path}:1: ")
