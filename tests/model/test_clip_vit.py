"""Our OpenAI-named CLIP tower against transformers' CLIPVisionModel with the same (random, tiny) weights."""

import torch
import transformers

from model.checkpoint import hf_clip_vision_to_openai
from model.clip_vit import VisionTransformer
from model.release_layout import clip_visual_keys
from model.config import preset


def tiny_hf_clip() -> "transformers.CLIPVisionModelWithProjection":
    torch.manual_seed(0)
    cfg = transformers.CLIPVisionConfig(hidden_size=32, intermediate_size=128, num_hidden_layers=2,
                                        num_attention_heads=2, image_size=56, patch_size=14, projection_dim=16,
                                        hidden_act="quick_gelu", layer_norm_eps=1e-5)
    model = transformers.CLIPVisionModelWithProjection(cfg).eval()
    with torch.no_grad():  # HF initialises LayerNorms to identity and biases to 0; randomise everything
        for p in model.parameters():
            p.normal_(0, 0.2)
    return model


def ours_from(hf) -> VisionTransformer:
    ours = VisionTransformer(32, 2, 2, 14, 56, 16).eval()
    ours.load_state_dict(hf_clip_vision_to_openai(hf.state_dict()), strict=True)
    return ours


def test_tokens_and_pooled_embedding_match_hf() -> None:
    hf = tiny_hf_clip()
    ours = ours_from(hf)
    images = torch.randn(3, 3, 56, 56)
    with torch.no_grad():
        ref = hf(pixel_values=images, output_hidden_states=True)
        hidden = ref.last_hidden_state  # before post_layernorm
        tokens = ours.forward_tokens(images)
        pooled = ours(images)
        blocks = ours.transformer(ours.embed(ours.patchify(images)))
    assert tokens.shape == (3, 17, 32)
    assert (blocks - hidden).abs().max() < 1e-5
    assert (tokens - hf.vision_model.post_layernorm(hidden)).abs().max() < 1e-5
    assert (pooled - ref.image_embeds).abs().max() < 1e-5


def test_state_dict_uses_openai_names() -> None:
    cfg = preset("tiny")
    ours = VisionTransformer.from_config(cfg)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == clip_visual_keys(cfg)
