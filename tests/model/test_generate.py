"""KV-cached decoding against full recomputation, token by token, with and without media."""

import pytest
import torch

from model.generate import generate, generate_batch, sample_next
from tests.model.media_helpers import random_media


def greedy_by_recompute(model, prompt, media, modality, steps):
    ids, out = list(prompt), []
    for _ in range(steps):
        with torch.no_grad():
            logits = model(torch.tensor([ids]), media, modality)[0, -1]
        out.append(int(logits.argmax()))
        ids.append(out[-1])
    return out


def sharpen(model):
    """A random tiny model's logits are nearly flat; scale the head so argmax ties cannot flip the comparison."""
    with torch.no_grad():
        model.llma.output.weight.mul_(20)


@pytest.mark.parametrize("modality", ["image", "audio", "text"])
def test_cached_greedy_equals_recompute(tiny_model, modality) -> None:
    model = tiny_model
    sharpen(model)
    try:
        media = None if modality == "text" else random_media(modality)
        prompt = [1, 17, 230, 45, 9, 88]
        expected = greedy_by_recompute(model, prompt, media, modality, 12)
        got = generate(model, prompt, media, modality, max_new_tokens=12, eos_id=-1)
    finally:
        with torch.no_grad():
            model.llma.output.weight.div_(20)
    assert got == expected


def test_cached_step_logits_equal_uncached(tiny_model) -> None:
    model, media = tiny_model, random_media("image")
    prompt = torch.tensor([[1, 5, 6, 7, 8]])
    with torch.no_grad():
        cache = model.llma.new_cache(1, 64)
        logits, pos = model.prefill(prompt, media, "image", cache)
        assert pos == 5 + 32  # prompt plus start tag, 30 tokens, end tag
        steps = [logits]
        for tok in (11, 12, 13):
            steps.append(model.step(torch.tensor([tok]), pos, cache))
            pos += 1
        full = model(torch.tensor([[1, 5, 6, 7, 8, 11, 12, 13]]), media, "image")[0, 4:]
    assert torch.allclose(torch.stack([s[0] for s in steps]), full, atol=1e-4)


def test_release_offset_bug_would_be_caught(tiny_model) -> None:
    """Writing the cache 2 positions too early (the released code) changes the logits: our check is sensitive."""
    model, media = tiny_model, random_media("image")
    with torch.no_grad():
        cache = model.llma.new_cache(1, 64)
        _, pos = model.prefill(torch.tensor([[1, 5, 6, 7]]), media, "image", cache)
        right = model.step(torch.tensor([9]), pos, cache)
        cache = model.llma.new_cache(1, 64)
        model.prefill(torch.tensor([[1, 5, 6, 7]]), media, "image", cache)
        wrong = model.step(torch.tensor([9]), pos - 2, cache)
    assert not torch.allclose(right, wrong, atol=1e-4)


def test_stops_at_eos_and_stop_ids(tiny_model) -> None:
    first = generate(tiny_model, [1, 4, 5], None, "text", max_new_tokens=5, eos_id=-1)
    assert generate(tiny_model, [1, 4, 5], None, "text", max_new_tokens=5, eos_id=first[0]) == []
    assert generate(tiny_model, [1, 4, 5], None, "text", 5, eos_id=-1, stop_ids=[first[1]]) == first[:1]


def test_batch_rows_match_single_prompts(tiny_model) -> None:
    media = torch.cat([random_media("imu", seed=1), random_media("imu", seed=2)])
    rows = generate_batch(tiny_model, [[1, 4, 5], [1, 7, 8]], media, "imu", 4, eos_id=-1)
    assert rows[0] == generate(tiny_model, [1, 4, 5], media[:1], "imu", 4, eos_id=-1)
    assert rows[1] == generate(tiny_model, [1, 7, 8], media[1:], "imu", 4, eos_id=-1)


def test_sampling_respects_top_p_and_seed() -> None:
    logits = torch.tensor([[5.0, 4.0, -10.0, -10.0]])
    g = torch.Generator().manual_seed(0)
    draws = {int(sample_next(logits, 1.0, 0.5, g)) for _ in range(50)}
    assert draws == {0}  # token 0 alone holds > 50 % of the mass
    draws = {int(sample_next(logits, 1.0, 1.0, g)) for _ in range(200)}
    assert draws == {0, 1}
    assert int(sample_next(logits, 0.0, 1.0)) == 0
