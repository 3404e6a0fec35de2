"""Our Meta-named LLaMA against transformers' LlamaForCausalLM (tiny random weights), RoPE, cache and causality."""

import pytest
import torch
import transformers

from model.checkpoint import hf_llama_to_meta, load_decoder, meta_llama_to_hf
from model.config import preset
from model.llama import Llama, apply_rope, rope_tables
from model.release_layout import llama_keys


def hf_config(cfg) -> "transformers.LlamaConfig":
    return transformers.LlamaConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.dim, intermediate_size=cfg.ffn_dim,
                                    num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads,
                                    num_key_value_heads=cfg.kv_heads, rms_norm_eps=cfg.norm_eps,
                                    rope_theta=cfg.rope_theta, max_position_embeddings=cfg.max_seq_len,
                                    tie_word_embeddings=False, attention_bias=False, mlp_bias=False)


def randomise(model: torch.nn.Module, seed: int = 0) -> None:
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.1)


@pytest.mark.parametrize("kv_heads", [None, 2])
def test_hf_weights_through_our_converter_match_hf_logits(kv_heads) -> None:
    cfg = preset("tiny", n_kv_heads=kv_heads)
    hf = transformers.LlamaForCausalLM(hf_config(cfg)).eval()
    randomise(hf)
    ours = Llama(cfg).eval()
    load_decoder(ours, hf_llama_to_meta(hf.state_dict(), cfg.n_heads, cfg.kv_heads), "hf")
    ids = torch.randint(0, cfg.vocab_size, (2, 24))
    with torch.no_grad():
        diff = (ours(ids) - hf(ids).logits).abs().max()
    assert diff < 1e-5, diff


def test_meta_to_hf_to_meta_is_identity_and_matches() -> None:
    cfg = preset("tiny", n_kv_heads=2)
    ours = Llama(cfg).eval()
    randomise(ours, 1)
    meta = ours.state_dict()
    back = hf_llama_to_meta(meta_llama_to_hf(meta, cfg.n_heads, cfg.kv_heads), cfg.n_heads, cfg.kv_heads)
    assert all(torch.equal(back[k], v) for k, v in meta.items())
    hf = transformers.LlamaForCausalLM(hf_config(cfg)).eval()
    hf.load_state_dict(meta_llama_to_hf(meta, cfg.n_heads, cfg.kv_heads), strict=True)
    ids = torch.randint(0, cfg.vocab_size, (1, 17))
    with torch.no_grad():
        assert (ours(ids) - hf(ids).logits).abs().max() < 1e-4


def test_state_dict_uses_meta_names_without_rope_tables() -> None:
    cfg = preset("tiny")
    assert {k: tuple(v.shape) for k, v in Llama(cfg).state_dict().items()} == llama_keys(cfg)


def test_rope_rotates_interleaved_pairs() -> None:
    cos, sin = rope_tables(4, 3)
    x = torch.tensor([1.0, 0.0, 1.0, 0.0]).expand(1, 3, 1, 4)
    out = apply_rope(x, cos, sin)[0, :, 0]
    # pair (x0, x1) at position p rotates by p * theta^0 = p radians; second pair by p / 100
    assert torch.allclose(out[2, :2], torch.tensor([torch.cos(torch.tensor(2.0)), torch.sin(torch.tensor(2.0))]))
    assert torch.allclose(out[2, 2:], torch.tensor([torch.cos(torch.tensor(0.02)), torch.sin(torch.tensor(0.02))]))


def test_causal_and_cached_prefix() -> None:
    cfg = preset("tiny")
    model = Llama(cfg).eval()
    randomise(model, 2)
    ids = torch.randint(0, cfg.vocab_size, (2, 12))
    changed = ids.clone()
    changed[:, 8] = (changed[:, 8] + 1) % cfg.vocab_size
    with torch.no_grad():
        full, other = model(ids), model(changed)
        assert torch.equal(full[:, :8], other[:, :8]) and not torch.allclose(full[:, 8:], other[:, 8:])
        cache = model.new_cache(2, 12)
        first = model(ids[:, :5], 0, cache)
        rest = model(ids[:, 5:], 5, cache)  # several new tokens at once use the offset causal mask
    assert torch.allclose(torch.cat([first, rest], dim=1), full, atol=1e-5)


def test_hf_folder_loads_through_converter(tmp_path) -> None:
    from model.checkpoint import load_hf_llama

    cfg = preset("tiny", n_kv_heads=2)
    hf = transformers.LlamaForCausalLM(hf_config(cfg)).eval()
    randomise(hf, 3)
    hf.save_pretrained(tmp_path)
    ours = Llama(cfg).eval()
    load_hf_llama(ours, tmp_path)
    ids = torch.randint(0, cfg.vocab_size, (1, 10))
    with torch.no_grad():
        assert (ours(ids) - hf(ids).logits).abs().max() < 1e-4
