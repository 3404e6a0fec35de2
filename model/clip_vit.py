"""CLIP vision transformer with OpenAI's parameter names, so ``visual.*`` weights load as they are.

Names: ``conv1``, ``class_embedding``, ``positional_embedding``, ``ln_pre``,
``transformer.resblocks.N.{ln_1, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}``,
``ln_post``, ``proj``. Pre-norm blocks, QuickGELU (what OpenAI's weights were trained with), batch-first SDPA.
The tower is split into ``embed`` | ``blocks`` | ``ln_post`` because OneLLM feeds other modalities' patch tokens
through the same blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelConfig


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class FusedSelfAttention(nn.Module):
    """Multi-head self-attention with q, k, v stacked in one ``in_proj_weight`` (OpenAI / nn.MultiheadAttention)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.view(b, n, self.heads, c // self.heads).transpose(1, 2) for t in (q, k, v))  # (B, H, N, hd)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.gelu = QuickGELU()
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.gelu(self.c_fc(x)))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = FusedSelfAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = Mlp(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(width, heads) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x)
        return x


class VisionTransformer(nn.Module):
    """OpenAI CLIP's visual tower. ``forward_tokens`` gives all tokens after ``ln_post`` (what OneLLM uses)."""

    def __init__(self, width: int, layers: int, heads: int, patch: int, image_size: int, embed_dim: int) -> None:
        super().__init__()
        grid = image_size // patch
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed_dim))

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> VisionTransformer:
        return cls(cfg.clip_width, cfg.clip_layers, cfg.clip_heads, cfg.clip_patch, cfg.clip_image_size,
                   cfg.clip_embed_dim)

    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) → (B, grid², width) patch tokens, row-major as OpenAI flattens them."""
        x = self.conv1(images.to(self.conv1.weight.dtype))
        return x.flatten(2).transpose(1, 2)

    def embed(self, tokens: torch.Tensor, positional_embedding: torch.Tensor | None = None) -> torch.Tensor:
        """(B, N, C) → (B, N+1, C): prepend the class token, add positions (CLIP's own unless given), ``ln_pre``."""
        pos = self.positional_embedding if positional_embedding is None else positional_embedding
        cls = self.class_embedding.to(tokens.dtype).expand(tokens.shape[0], 1, -1)
        x = torch.cat([cls, tokens], dim=1) + pos.to(tokens.dtype)
        return self.ln_pre(x)

    def forward_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) → (B, grid²+1, width): every token after ``ln_post``, no projection."""
        return self.ln_post(self.transformer(self.embed(self.patchify(images))))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """CLIP's pooled image embedding (B, embed_dim): class token → ``ln_post`` → ``proj``."""
        x = self.transformer(self.embed(self.patchify(images)))
        return self.ln_post(x[:, 0]) @ self.proj


class CLIPHolder(nn.Module):
    """Holds the tower as ``visual`` so keys read ``clip.visual.*`` as in OneLLM's checkpoint (text tower dropped)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.visual = VisionTransformer.from_config(cfg)
