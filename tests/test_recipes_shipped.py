"""The shipped stage recipes say what the README's training table says: what each stage starts from, which parts
train, its data and its training format (alignment stages caption, instruction tuning and the demo chat)."""

from __future__ import annotations

from pathlib import Path

import pytest

from onellm_data.converters import converter_class
from onellm_data.recipes import load_recipe
from onellm_data.schema import MEDIA_MODALITIES

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
ALIGNMENT = ("stage1_image", "stage2_video_audio_point", "stage3_depth_normal_imu_fmri")


def _recipe(name: str):
    return load_recipe(RECIPES / f"{name}.yaml")


def _modalities(recipe) -> set[str]:
    """The modalities a recipe's mix covers, from each source's converter."""
    out: set[str] = set()
    for entry in recipe.data.mix:
        out |= {entry.modality} if entry.modality else set(converter_class(entry.source).modalities)
    return out


@pytest.mark.parametrize("name", [p.stem for p in sorted(RECIPES.glob("*.yaml"))])
def test_clip_is_frozen_in_every_shipped_recipe(name: str) -> None:
    recipe = _recipe(name)
    assert "clip" in recipe.frozen and "clip" not in recipe.trainable


@pytest.mark.parametrize("name", ALIGNMENT)
def test_alignment_stages_train_captions_of_tokenizers_and_upm(name: str) -> None:
    recipe = _recipe(name)
    assert recipe.format == "caption"
    assert set(recipe.trainable) == {"tokenizers", "upm"}


def test_stage1_starts_from_llama2_and_openai_clip_on_laion() -> None:
    recipe = _recipe("stage1_image")
    assert Path(recipe.init_from).name == "llama-2-7b" and Path(recipe.init_clip).name == "ViT-L-14.pt"
    assert [e.source for e in recipe.data.mix] == ["laion"]


def test_stage2_and_3_start_from_the_previous_stage_and_copy_the_image_projections() -> None:
    stage2, stage3 = _recipe("stage2_video_audio_point"), _recipe("stage3_depth_normal_imu_fmri")
    assert Path(stage2.init_from).name == "stage1_image" and stage2.init_new_modalities_from == "image"
    assert Path(stage3.init_from).name == "stage2_video_audio_point" and stage3.init_new_modalities_from == "image"
    assert {e.source for e in stage2.data.mix} == {"laion", "webvid", "wavcaps", "cap3d"}
    assert _modalities(stage2) == {"image", "video", "audio", "point"}
    assert _modalities(stage3) == set(MEDIA_MODALITIES)  # all eight


def test_instruct_trains_the_llm_for_one_epoch_in_natural_proportions() -> None:
    recipe = _recipe("instruct")
    assert Path(recipe.init_from).name == "stage3_depth_normal_imu_fmri"
    assert recipe.trainable == ("llm",) and recipe.format == "chat"
    assert recipe.data.sampling == "epoch" and recipe.schedule.epochs == 1 and recipe.schedule.max_steps is None
    assert all(e.weight is None for e in recipe.data.mix)  # no weights: each source's size sets its share
    assert _modalities(recipe) == set(MEDIA_MODALITIES) | {"text"}


def test_demo_trains_a_fresh_tiny_model_end_to_end() -> None:
    recipe = _recipe("demo")
    assert recipe.init_from is None and recipe.init_clip is None and recipe.model.preset == "tiny"
    assert set(recipe.trainable) == {"tokenizers", "upm", "llm"} and recipe.format == "chat"
