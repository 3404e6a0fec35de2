"""Universal Projection Module: K shared experts mixed per token by a per-modality router.

Per modality m (released layout; attribute names are the checkpoint's keys):
  ``clip_proj1[m]`` Linear+LayerNorm on the encoder tokens → prepend ``resample_tokens[m]`` (1, T, C) →
  ``routers[m]`` MLP C→hidden→K, sigmoid then divided by the sum (softmax as an option) →
  each expert ``resample_layers[k]`` (L bidirectional LLaMA blocks, no RoPE) runs the whole sequence; the first T
  outputs, weighted by their routing weights, are summed over experts → ``clip_proj2[m]`` Linear+LayerNorm →
  (B, T, dim).
``start_tag[m]`` / ``end_tag[m]`` (1, 1, dim) frame the tokens in the LLM sequence.
"""

from __future__ import annotations

import torch
from torch import nn

from model.config import RELEASE_ORDER, ModelConfig, release_name
from model.llama import TransformerBlock


class Router(nn.Module):
    """The released ``Mlp``: fc1 → GELU → fc2, one logit per expert."""

    def __init__(self, width: int, hidden: int, experts: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, experts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def projection(width_in: int, width_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width_in, width_out), nn.LayerNorm(width_out))  # keys .0.* and .1.*


class UniversalProjection(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c, d = cfg.clip_width, cfg.dim
        self.router_norm = cfg.router_norm
        self.n_tokens = cfg.modality_tokens
        self.resample_layers = nn.ModuleDict({
            str(k): nn.ModuleList(TransformerBlock(c, cfg.upm_heads, cfg.upm_heads, cfg.upm_ffn_dim, cfg.norm_eps)
                                  for _ in range(cfg.upm_blocks))
            for k in range(cfg.upm_experts)})
        self.routers = nn.ModuleDict({m: Router(c, cfg.router_hidden, cfg.upm_experts) for m in RELEASE_ORDER})
        self.resample_tokens = nn.ParameterDict(
            {m: nn.Parameter(0.02 * torch.randn(1, cfg.modality_tokens, c)) for m in RELEASE_ORDER})
        self.clip_proj1 = nn.ModuleDict({m: projection(c, c) for m in RELEASE_ORDER})
        self.clip_proj2 = nn.ModuleDict({m: projection(c, d) for m in RELEASE_ORDER})
        self.start_tag = nn.ParameterDict({m: nn.Parameter(torch.rand(1, 1, d)) for m in RELEASE_ORDER})
        self.end_tag = nn.ParameterDict({m: nn.Parameter(torch.rand(1, 1, d)) for m in RELEASE_ORDER})

    def routing_weights(self, x: torch.Tensor, modality: str) -> torch.Tensor:
        """(B, N, C) → (B, N, K) non-negative expert weights summing to 1 per token."""
        logits = self.routers[release_name(modality)](x).float()
        if self.router_norm == "softmax":
            return logits.softmax(dim=-1).type_as(x)
        w = logits.sigmoid()
        return (w / w.sum(dim=-1, keepdim=True)).type_as(x)

    def forward(self, tokens: torch.Tensor, modality: str) -> torch.Tensor:
        """Encoder tokens (B, N, C) → (B, T, dim) modality tokens for the LLM (tags not included)."""
        m = release_name(modality)
        x = self.clip_proj1[m](tokens)
        queries = self.resample_tokens[m].to(x.dtype).expand(x.shape[0], -1, -1)
        x = torch.cat([queries, x], dim=1)  # (B, T+N, C)
        weights = self.routing_weights(x, m)[:, :self.n_tokens]  # (B, T, K)
        out = torch.zeros_like(x[:, :self.n_tokens])
        for k, expert in enumerate(self.resample_layers.values()):
            h = x
            for block in expert:
                h = block(h, rope=None, causal=False)
            out = out + h[:, :self.n_tokens] * weights[:, :, k, None]
        return self.clip_proj2[m](out)

    def framed(self, tokens: torch.Tensor, modality: str) -> torch.Tensor:
        """(B, T, dim) → (B, T+2, dim) with the modality's start and end tags around it."""
        m = release_name(modality)
        b = tokens.shape[0]
        start = self.start_tag[m].to(tokens.dtype).expand(b, -1, -1)
        end = self.end_tag[m].to(tokens.dtype).expand(b, -1, -1)
        return torch.cat([start, tokens, end], dim=1)
