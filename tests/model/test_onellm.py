"""OneLLM assembly: shapes per modality, released key layout, module groups and freezing."""

import pytest
import torch

from model.config import preset
from model.onellm import OneLLM
from model.release_layout import release_keys
from onellm_data.schema import MEDIA_MODALITIES
from tests.model.media_helpers import random_media


@pytest.mark.parametrize("modality", MEDIA_MODALITIES)
def test_every_modality_gives_30_tokens_and_aligned_logits(tiny_model, modality) -> None:
    cfg = tiny_model.cfg
    media = random_media(modality, batch=2)
    ids = torch.randint(3, cfg.vocab_size, (2, 9))
    ids[:, 0] = 1
    with torch.no_grad():
        assert tiny_model.llma.upm(tiny_model.llma.encode(media, modality), modality).shape == (2, 30, cfg.dim)
        assert tiny_model.llma.media_embeddings(media, modality).shape == (2, 32, cfg.dim)
        logits = tiny_model(ids, media, modality)
    assert logits.shape == (2, 9, cfg.vocab_size) and torch.isfinite(logits).all()


def test_encoder_token_counts(tiny_model) -> None:
    expected = {"image": 257, "video": 257, "depth": 257, "audio": 1213, "point": 1025, "imu": 392, "fmri": 9}
    with torch.no_grad():
        for modality, n in expected.items():
            assert tiny_model.llma.encode(random_media(modality), modality).shape == (1, n, 32), modality


def test_media_changes_text_logits_and_text_only_runs(tiny_model) -> None:
    ids = torch.tensor([[1, 5, 6, 7]])
    with torch.no_grad():
        a = tiny_model(ids, random_media("image", seed=1), "image")
        b = tiny_model(ids, random_media("image", seed=2), "image")
        text = tiny_model(ids, None, "text")
    assert not torch.allclose(a, b) and text.shape == a.shape


def test_wrong_media_shape_is_a_clear_error(tiny_model) -> None:
    with pytest.raises(ValueError, match=r"audio input must be \[B, 1, 128, 1024\]"):
        tiny_model(torch.tensor([[1, 5]]), torch.randn(1, 1, 128, 100), "audio")


@pytest.mark.parametrize("name", ["tiny", "onellm-7b"])
def test_state_dict_equals_released_key_layout(name) -> None:
    with torch.device("meta"):
        model = OneLLM(preset(name))
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == release_keys(model.cfg)


def test_module_groups_partition_all_parameters(tiny_model) -> None:
    groups = tiny_model.module_groups()
    assert set(groups) == {"tokenizers", "clip", "upm", "llm"}
    ids = [id(p) for params in groups.values() for p in params]
    assert len(ids) == len(set(ids)) == len(list(tiny_model.parameters()))
    assert any(p is tiny_model.llma.conv1["audio"].weight for p in groups["tokenizers"])
    assert any(p is tiny_model.llma.routers["image"].fc1.weight for p in groups["upm"])


@pytest.mark.parametrize("trainable", [("tokenizers", "upm"), ("llm",), ("upm",)])
def test_gradients_reach_only_unfrozen_groups(trainable) -> None:
    torch.manual_seed(0)
    model = OneLLM(preset("tiny"))
    model.set_trainable(trainable)
    ids = torch.randint(3, 1000, (2, 6))
    for modality in ("audio", "image"):
        loss = model(ids, random_media(modality, 2), modality)[:, :-1].logsumexp(-1).mean()
        loss.backward()
    for group, params in model.module_groups().items():
        grads = [p.grad for p in params]
        if group in trainable:
            assert any(g is not None and g.abs().sum() > 0 for g in grads), group
        else:
            assert all(g is None for g in grads), group


def test_unknown_group_rejected(tiny_model) -> None:
    with pytest.raises(ValueError, match="unknown module group"):
        tiny_model.set_trainable(["vision"])


def test_init_modality_from_copies_projection_parts() -> None:
    torch.manual_seed(0)
    model = OneLLM(preset("tiny"))
    model.init_modality_from("image", "depth")
    core = model.llma
    assert torch.equal(core.resample_tokens["rgbd"], core.resample_tokens["image"])
    for a, b in zip(core.clip_proj2["rgbd"].state_dict().values(), core.clip_proj2["image"].state_dict().values()):
        assert torch.equal(a, b)
    assert not torch.equal(core.routers["rgbd"].fc2.weight, core.routers["image"].fc2.weight)  # as OneLLM
    assert torch.equal(core.end_tag["rgbd"], core.end_tag["image"])
    assert not torch.equal(core.resample_tokens["audio"], core.resample_tokens["image"])
