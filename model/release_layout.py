"""The released OneLLM checkpoint's keys and shapes, written out as data from the published layout.

Kept independent of the module code on purpose: a test checks ``OneLLM(cfg).state_dict()`` against this table,
so a renamed attribute cannot silently break loading of ``consolidated.00-of-01.pth``.
"""

from __future__ import annotations

from model.config import RELEASE_ORDER, ModelConfig

Shape = tuple[int, ...]


def llama_keys(cfg: ModelConfig, prefix: str = "") -> dict[str, Shape]:
    """Meta LLaMA-2 names (``consolidated.*.pth`` after merging shards)."""
    d, f, hd = cfg.dim, cfg.ffn_dim, cfg.head_dim
    keys: dict[str, Shape] = {"tok_embeddings.weight": (cfg.vocab_size, d), "norm.weight": (d,),
                              "output.weight": (cfg.vocab_size, d)}
    for i in range(cfg.n_layers):
        keys |= block_keys(f"layers.{i}.", d, cfg.n_heads * hd, cfg.kv_heads * hd, f)
    return {prefix + k: v for k, v in keys.items()}


def block_keys(p: str, dim: int, q_dim: int, kv_dim: int, hidden: int) -> dict[str, Shape]:
    return {f"{p}attention.wq.weight": (q_dim, dim), f"{p}attention.wk.weight": (kv_dim, dim),
            f"{p}attention.wv.weight": (kv_dim, dim), f"{p}attention.wo.weight": (dim, q_dim),
            f"{p}feed_forward.w1.weight": (hidden, dim), f"{p}feed_forward.w2.weight": (dim, hidden),
            f"{p}feed_forward.w3.weight": (hidden, dim),
            f"{p}attention_norm.weight": (dim,), f"{p}ffn_norm.weight": (dim,)}


def clip_visual_keys(cfg: ModelConfig, prefix: str = "") -> dict[str, Shape]:
    """OpenAI CLIP ``visual.*`` names (without ``visual.``)."""
    c = cfg.clip_width
    keys: dict[str, Shape] = {"conv1.weight": (c, 3, cfg.clip_patch, cfg.clip_patch), "class_embedding": (c,),
                              "positional_embedding": (cfg.clip_grid ** 2 + 1, c), "proj": (c, cfg.clip_embed_dim)}
    for ln in ("ln_pre", "ln_post"):
        keys |= {f"{ln}.weight": (c,), f"{ln}.bias": (c,)}
    for i in range(cfg.clip_layers):
        p = f"transformer.resblocks.{i}."
        keys |= {f"{p}attn.in_proj_weight": (3 * c, c), f"{p}attn.in_proj_bias": (3 * c,),
                 f"{p}attn.out_proj.weight": (c, c), f"{p}attn.out_proj.bias": (c,),
                 f"{p}mlp.c_fc.weight": (4 * c, c), f"{p}mlp.c_fc.bias": (4 * c,),
                 f"{p}mlp.c_proj.weight": (c, 4 * c), f"{p}mlp.c_proj.bias": (c,)}
        for ln in ("ln_1", "ln_2"):
            keys |= {f"{p}{ln}.weight": (c,), f"{p}{ln}.bias": (c,)}
    return {prefix + k: v for k, v in keys.items()}


def release_keys(cfg: ModelConfig) -> dict[str, Shape]:
    """Every key of ``consolidated.00-of-01.pth`` (``llma.`` prefix) that the model uses, with its shape."""
    c, d, t, k = cfg.clip_width, cfg.dim, cfg.modality_tokens, cfg.upm_experts
    counts = cfg.token_counts()
    keys = llama_keys(cfg) | clip_visual_keys(cfg, "clip.visual.")
    for e in range(k):
        for b in range(cfg.upm_blocks):
            keys |= block_keys(f"resample_layers.{e}.{b}.", c, c, c, cfg.upm_ffn_dim)
    for m in RELEASE_ORDER:
        keys |= {f"routers.{m}.fc1.weight": (cfg.router_hidden, c), f"routers.{m}.fc1.bias": (cfg.router_hidden,),
                 f"routers.{m}.fc2.weight": (k, cfg.router_hidden), f"routers.{m}.fc2.bias": (k,),
                 f"resample_tokens.{m}": (1, t, c), f"start_tag.{m}": (1, 1, d), f"end_tag.{m}": (1, 1, d),
                 f"clip_proj1.{m}.0.weight": (c, c), f"clip_proj1.{m}.0.bias": (c,),
                 f"clip_proj1.{m}.1.weight": (c,), f"clip_proj1.{m}.1.bias": (c,),
                 f"clip_proj2.{m}.0.weight": (d, c), f"clip_proj2.{m}.0.bias": (d,),
                 f"clip_proj2.{m}.1.weight": (d,), f"clip_proj2.{m}.1.bias": (d,)}
    keys |= {"conv1.audio.weight": (c, 1, cfg.audio_patch, cfg.audio_patch), "conv1.audio.bias": (c,),
             "conv1.point.conv1.weight": (c, cfg.point_channels, 1, 1), "conv1.point.conv1.bias": (c,),
             "conv1.fmri.weight": (cfg.fmri_tokens * c, cfg.fmri_voxels), "conv1.fmri.bias": (cfg.fmri_tokens * c,),
             "conv1.imu.weight": (c, cfg.imu_channels, cfg.imu_kernel)}
    keys |= {f"positional_embedding.{m}": (counts[m] + 1, c) for m in ("audio", "point", "fmri", "imu")}
    return {f"llma.{k}": v for k, v in keys.items()}
