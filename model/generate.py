"""Greedy and temperature/top-p decoding with a KV cache at the right positions.

The prompt (with its 32 inserted media embeddings) is prefilled once; each new token is then written to the cache
and rotated at its true absolute position, prompt length + media embeddings + tokens so far. The released code
counted 30 inserted embeddings instead of 32, so from the second new token on it overwrote earlier cache entries
and used RoPE positions 2 too small.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from model.onellm import OneLLM


def sample_next(logits: torch.Tensor, temperature: float, top_p: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, vocab) logits → (B,) next ids: argmax at temperature 0, else nucleus sampling."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        keep = sorted_probs.cumsum(dim=-1) - sorted_probs < top_p  # the smallest set reaching top_p
        sorted_probs = sorted_probs * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


@torch.no_grad()
def generate_batch(model: OneLLM, prompts: Sequence[Sequence[int]], media: torch.Tensor | None, modality: str,
                   max_new_tokens: int, eos_id: int, temperature: float = 0.0, top_p: float = 1.0,
                   stop_ids: Sequence[int] = (), generator: torch.Generator | None = None) -> list[list[int]]:
    """Equal-length prompts (one per row of ``media``) → the new ids of each row, cut before EOS / a stop id.

    Rows of different prompt lengths would need per-row positions and padding masks; call per prompt instead.
    """
    if len({len(p) for p in prompts}) != 1:
        raise ValueError("generate_batch needs prompts of equal length; call generate() per prompt")
    device = model.llma.tok_embeddings.weight.device
    ids = torch.tensor([list(p) for p in prompts], dtype=torch.long, device=device)
    media = None if media is None else media.to(device)
    n_media = 0 if media is None or modality == "text" else model.cfg.modality_tokens + 2
    total = ids.shape[1] + n_media + max_new_tokens
    cache = model.llma.new_cache(ids.shape[0], total)
    logits, position = model.prefill(ids, media, modality, cache)
    stops = torch.tensor([eos_id, *stop_ids], device=device)
    out: list[torch.Tensor] = []
    done = torch.zeros(ids.shape[0], dtype=torch.bool, device=device)
    for i in range(max_new_tokens):
        token = sample_next(logits, temperature, top_p, generator)
        out.append(token)
        done |= torch.isin(token, stops)
        if bool(done.all()) or i == max_new_tokens - 1:
            break
        logits = model.step(token, position, cache)
        position += 1
    rows = torch.stack(out, dim=1).tolist() if out else [[] for _ in prompts]
    stop_set = {eos_id, *stop_ids}
    return [row[:next((j for j, t in enumerate(row) if t in stop_set), len(row))] for row in rows]


def generate(model: OneLLM, prompt_ids: Sequence[int], media: torch.Tensor | None, modality: str,
             max_new_tokens: int, eos_id: int, temperature: float = 0.0, top_p: float = 1.0,
             stop_ids: Sequence[int] = (), generator: torch.Generator | None = None) -> list[int]:
    """One prompt (``media`` with batch 1, or None) → new token ids, without the EOS."""
    if media is not None and media.dim() > 0 and media.shape[0] != 1:
        raise ValueError(f"generate() takes one sample; media has batch {media.shape[0]}")
    return generate_batch(model, [prompt_ids], media, modality, max_new_tokens, eos_id, temperature, top_p,
                          stop_ids, generator)[0]
