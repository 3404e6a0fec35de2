"""OneLLM: modality tokenizer → frozen CLIP blocks → UPM → 30 tokens framed by tags after BOS in LLaMA-2.

The module tree reproduces the released checkpoint's keys exactly (``llma.tok_embeddings.weight``,
``llma.clip.visual.*``, ``llma.conv1.audio.*``, ``llma.resample_layers.0.0.*``, ``llma.start_tag.image`` ...), so
``load_state_dict(strict=True)`` works on ``consolidated.00-of-01.pth``. The release keeps the tokenizers' and the
UPM's parameter dicts directly under ``llma``; ``OneLLMCore`` registers those dicts there and keeps the component
objects (which own the forward logic) unregistered, so every parameter has exactly one name.
"""

from __future__ import annotations

import torch
from torch import nn

from model.clip_vit import CLIPHolder
from model.config import ModelConfig, release_name
from model.llama import KVCache, Llama
from model.modality_tokenizers import ModalityTokenizers
from model.upm import UniversalProjection

UPM_PARTS = ("resample_layers", "routers", "resample_tokens", "clip_proj1", "clip_proj2", "start_tag", "end_tag")
GROUP_PREFIXES: dict[str, tuple[str, ...]] = {
    "tokenizers": ("conv1.", "positional_embedding."),
    "clip": ("clip.",),
    "upm": tuple(f"{p}." for p in UPM_PARTS),
    "llm": ("tok_embeddings.", "layers.", "norm.", "output."),
}


class OneLLMCore(Llama):
    """The released ``MetaModel.llma``: the LLaMA decoder plus every multimodal part, flat under one module."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        self.clip = CLIPHolder(cfg)
        tokenizers, upm = ModalityTokenizers(cfg), UniversalProjection(cfg)
        self.conv1, self.positional_embedding = tokenizers.conv1, tokenizers.positional_embedding
        for name in UPM_PARTS:
            setattr(self, name, getattr(upm, name))
        # unregistered: the same parameter dicts, reached through the objects that know how to run them
        object.__setattr__(self, "tokenizers", tokenizers)
        object.__setattr__(self, "upm", upm)

    def encode(self, media: torch.Tensor, modality: str) -> torch.Tensor:
        """Media (B, ...) → (B, N+1, C) CLIP-block tokens after ``ln_post``, frames averaged."""
        visual = self.clip.visual
        x, frames = self.tokenizers.embed(media, modality, visual)
        x = visual.ln_post(visual.transformer(x))
        return x.unflatten(0, (-1, frames)).mean(dim=1) if frames > 1 else x

    def media_embeddings(self, media: torch.Tensor, modality: str) -> torch.Tensor:
        """(B, T+2, dim): start tag, the UPM's T modality tokens, end tag."""
        tokens = self.upm(self.encode(media, modality), modality)
        return self.upm.framed(tokens.to(self.tok_embeddings.weight.dtype), modality)

    def input_embeddings(self, input_ids: torch.Tensor, media: torch.Tensor | None, modality: str) -> torch.Tensor:
        """[BOS][start][T tokens][end][text 1..] embeddings; text only when there is no media."""
        h = self.tok_embeddings(input_ids)
        if media is None or modality == "text":
            return h
        return torch.cat([h[:, :1], self.media_embeddings(media, modality), h[:, 1:]], dim=1)


class OneLLM(nn.Module):
    """Contract API: ``forward(input_ids, media, modality) -> logits`` aligned with ``input_ids``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.llma = OneLLMCore(cfg)

    def forward(self, input_ids: torch.Tensor, media: torch.Tensor | None, modality: str) -> torch.Tensor:
        """(B, L) ids (``input_ids[:, 0]`` = BOS) → (B, L, vocab) float logits; logits[:, i] predicts ids[:, i+1].

        With media, position 0's logits are those of the end tag (the release's ``output[:, 32:]``): the
        inserted positions' logits are dropped.
        """
        h = self.llma.input_embeddings(input_ids, media, modality)
        h = self.llma.hidden(h)
        return self.llma.logits(h[:, h.shape[1] - input_ids.shape[1]:])

    def prefill(self, input_ids: torch.Tensor, media: torch.Tensor | None, modality: str,
                cache: KVCache) -> tuple[torch.Tensor, int]:
        """Run the prompt into ``cache``; return the last position's logits (B, vocab) and the next position."""
        h = self.llma.input_embeddings(input_ids, media, modality)
        out = self.llma.hidden(h, 0, cache)
        return self.llma.logits(out[:, -1:])[:, 0], h.shape[1]

    def step(self, tokens: torch.Tensor, position: int, cache: KVCache) -> torch.Tensor:
        """One new token per row (B,) at absolute ``position`` → its logits (B, vocab)."""
        h = self.llma.tok_embeddings(tokens[:, None])
        return self.llma.logits(self.llma.hidden(h, position, cache))[:, 0]

    def module_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters by part: "tokenizers", "clip" (image/video/depth/normal patch conv included), "upm", "llm"."""
        groups: dict[str, list[nn.Parameter]] = {g: [] for g in GROUP_PREFIXES}
        for name, param in self.llma.named_parameters():
            group = next(g for g, prefixes in GROUP_PREFIXES.items() if name.startswith(prefixes))
            groups[group].append(param)
        return groups

    @torch.no_grad()
    def init_modality_from(self, source: str, target: str) -> None:
        """Copy ``source``'s modality tokens, projections and tags to ``target`` (OneLLM's warm start for the
        modalities a later alignment stage adds); the router keeps its own fresh weights, as in OneLLM."""
        src, dst = release_name(source), release_name(target)
        core = self.llma
        for name in ("resample_tokens", "start_tag", "end_tag"):
            getattr(core, name)[dst].copy_(getattr(core, name)[src])
        for name in ("clip_proj1", "clip_proj2"):
            getattr(core, name)[dst].load_state_dict(getattr(core, name)[src].state_dict())

    def init_experts_from_first(self) -> None:
        """Every UPM expert becomes a copy of the first (the paper's K copies of one image projection; OneLLM's
        ``--init_from_image`` did it from a single-projection stage-I checkpoint)."""
        experts = list(self.llma.resample_layers.values())
        for expert in experts[1:]:
            expert.load_state_dict(experts[0].state_dict())

    def set_trainable(self, trainable: list[str] | tuple[str, ...]) -> None:
        """``requires_grad`` True for the named groups, False for the rest."""
        unknown = set(trainable) - set(GROUP_PREFIXES)
        if unknown:
            raise ValueError(f"unknown module group(s) {sorted(unknown)}; known: {list(GROUP_PREFIXES)}")
        for group, params in self.module_groups().items():
            for p in params:
                p.requires_grad_(group in trainable)
