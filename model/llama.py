"""LLaMA-2 decoder with Meta's parameter names, so ``consolidated.*.pth`` loads without renaming.

Names: ``tok_embeddings``, ``layers.N.attention.{wq,wk,wv,wo}``, ``layers.N.feed_forward.{w1,w2,w3}``,
``layers.N.{attention_norm,ffn_norm}``, ``norm``, ``output``. RoPE rotates interleaved pairs (Meta's layout; HF
weights need their q/k permutation undone, see checkpoint.py) with real arithmetic and non-persistent cos/sin
tables. Attention is torch SDPA; a preallocated ``KVCache`` is written at explicit positions.
The same ``TransformerBlock`` (no RoPE, bidirectional) builds OneLLM's projection experts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()  # statistics in fp32 even for bf16 runs (as Meta does)
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_tables(head_dim: int, positions: int, theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin, each (positions, head_dim/2), for Meta's frequencies theta^(-2i/d)."""
    # explicit CPU: real values even when the model is built under ``torch.device("meta")`` for loading
    freqs = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64, device="cpu") / head_dim)
    angles = torch.outer(torch.arange(positions, dtype=torch.float64, device="cpu"), freqs)
    return angles.cos().float(), angles.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate interleaved pairs (x[2i], x[2i+1]) of x (B, L, H, hd) by the angles of cos/sin (L, hd/2)."""
    pairs = x.float().unflatten(-1, (-1, 2))
    x0, x1 = pairs[..., 0], pairs[..., 1]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    out = torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1)
    return out.flatten(-2).type_as(x)


class KVCache:
    """Per-layer keys/values, preallocated (B, max_len, Hkv, hd) and written at absolute positions."""

    def __init__(self, n_layers: int, batch: int, max_len: int, kv_heads: int, head_dim: int,
                 dtype: torch.dtype, device: torch.device) -> None:
        shape = (batch, max_len, kv_heads, head_dim)
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.max_len = max_len

    def update(self, layer: int, start: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        end = start + k.shape[1]
        if end > self.max_len:
            raise ValueError(f"KV cache holds {self.max_len} positions; writing up to {end}")
        self.k[layer][:, start:end] = k
        self.v[layer][:, start:end] = v
        return self.k[layer][:, :end], self.v[layer][:, :end]


def attention_mask(q_len: int, start: int, device: torch.device) -> torch.Tensor | None:
    """Causal mask for queries at absolute positions start..start+q_len-1 over keys 0..start+q_len-1."""
    if q_len == 1:
        return None  # a single new token sees everything cached
    q_pos = torch.arange(start, start + q_len, device=device)[:, None]
    return torch.arange(start + q_len, device=device)[None, :] <= q_pos


class Attention(nn.Module):
    def __init__(self, dim: int, n_heads: int, kv_heads: int) -> None:
        super().__init__()
        self.n_heads, self.kv_heads, self.head_dim = n_heads, kv_heads, dim // n_heads
        self.wq = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(n_heads * self.head_dim, dim, bias=False)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None, causal: bool = True,
                cache: KVCache | None = None, layer: int = 0, start: int = 0) -> torch.Tensor:
        b, n, _ = x.shape
        q = self.wq(x).view(b, n, self.n_heads, self.head_dim)
        k = self.wk(x).view(b, n, self.kv_heads, self.head_dim)
        v = self.wv(x).view(b, n, self.kv_heads, self.head_dim)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        if cache is not None:
            k, v = cache.update(layer, start, k, v)
        if self.kv_heads != self.n_heads:  # grouped-query attention (70B)
            k = k.repeat_interleave(self.n_heads // self.kv_heads, dim=2)
            v = v.repeat_interleave(self.n_heads // self.kv_heads, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, L, hd)
        if not causal:
            out = F.scaled_dot_product_attention(q, k, v)
        elif start == 0 and k.shape[2] == n:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask(n, start, x.device))
        return self.wo(out.transpose(1, 2).reshape(b, n, -1))


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)  # gate
        self.w2 = nn.Linear(hidden, dim, bias=False)  # down
        self.w3 = nn.Linear(dim, hidden, bias=False)  # up

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, n_heads: int, kv_heads: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.attention = Attention(dim, n_heads, kv_heads)
        self.feed_forward = FeedForward(dim, hidden)
        self.attention_norm = RMSNorm(dim, eps)
        self.ffn_norm = RMSNorm(dim, eps)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None, causal: bool = True,
                cache: KVCache | None = None, layer: int = 0, start: int = 0) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x), rope, causal, cache, layer, start)
        return x + self.feed_forward(self.ffn_norm(x))


class Llama(nn.Module):
    """The decoder. ``forward(tokens)`` → logits; ``hidden(embeddings, start, cache)`` for multimodal prefixes."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(
            TransformerBlock(cfg.dim, cfg.n_heads, cfg.kv_heads, cfg.ffn_dim, cfg.norm_eps)
            for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        cos, sin = rope_tables(cfg.head_dim, cfg.rope_positions, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)  # recomputed, never in the state dict
        self.register_buffer("rope_sin", sin, persistent=False)

    def new_cache(self, batch: int, max_len: int) -> KVCache:
        ref = self.tok_embeddings.weight
        return KVCache(len(self.layers), batch, max_len, self.cfg.kv_heads, self.cfg.head_dim, ref.dtype, ref.device)

    def hidden(self, h: torch.Tensor, start: int = 0, cache: KVCache | None = None) -> torch.Tensor:
        """(B, L, dim) input embeddings at absolute positions start.. → final hidden states before ``norm``."""
        end = start + h.shape[1]
        if end > self.rope_cos.shape[0]:
            raise ValueError(f"sequence reaches position {end}; RoPE table covers {self.rope_cos.shape[0]}")
        rope = (self.rope_cos[start:end], self.rope_sin[start:end])
        for i, layer in enumerate(self.layers):
            h = layer(h, rope, True, cache, i, start)
        return h

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.output(self.norm(h)).float()

    def forward(self, tokens: torch.Tensor, start: int = 0, cache: KVCache | None = None) -> torch.Tensor:
        """(B, L) token ids → (B, L, vocab) float logits."""
        return self.logits(self.hidden(self.tok_embeddings(tokens), start, cache))
