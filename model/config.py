"""One flat, typed configuration for the whole OneLLM model, with named presets.

``preset("onellm-7b")`` holds the released dimensions (CLIP ViT-L/14, 3 experts x 8 blocks, 30 modality tokens,
LLaMA-2-7B); ``preset("tiny")`` has the same structure and input sizes with small widths, so tests and the demo
run the real code path on a CPU in seconds. Any field can be overridden: ``preset("tiny", n_layers=3)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from onellm_data.schema import MEDIA_MODALITIES

# The names the released checkpoint uses for our modality names (MEDIA_MODALITIES, as in the corpus).
RELEASE_NAMES: dict[str, str] = {"depth": "rgbd", "normal": "rgbn"}
RELEASE_ORDER: tuple[str, ...] = ("image", "video", "audio", "point", "rgbd", "rgbn", "fmri", "imu")


def release_name(modality: str) -> str:
    """Our modality name → the key the released weights use (``depth`` → ``rgbd``); release names pass through."""
    if modality in RELEASE_ORDER:
        return modality
    if modality in RELEASE_NAMES:
        return RELEASE_NAMES[modality]
    raise ValueError(f"unknown modality {modality!r}; expected one of {MEDIA_MODALITIES}")


def ffn_hidden(dim: int, multiple_of: int, multiplier: float | None = None) -> int:
    """LLaMA's SwiGLU width: 2/3 of 4*dim, scaled, rounded up to ``multiple_of`` (4096 → 11008, 1024 → 2816)."""
    hidden = int(2 * 4 * dim / 3)
    if multiplier is not None:
        hidden = int(multiplier * hidden)
    return multiple_of * math.ceil(hidden / multiple_of)


@dataclass(frozen=True)
class ModelConfig:
    # LLaMA-2 decoder
    vocab_size: int = 32000
    dim: int = 4096
    n_layers: int = 32
    n_heads: int = 32
    n_kv_heads: int | None = None  # None = n_heads (7B/13B); 8 for 70B
    multiple_of: int = 256
    ffn_dim_multiplier: float | None = None
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_seq_len: int = 2048
    # CLIP ViT (OpenAI ViT-L/14 @ 224)
    clip_width: int = 1024
    clip_layers: int = 24
    clip_heads: int = 16
    clip_patch: int = 14
    clip_image_size: int = 224
    clip_embed_dim: int = 768  # visual.proj output; OneLLM keeps it in the checkpoint but never applies it
    # Universal Projection Module (width = clip_width)
    upm_experts: int = 3
    upm_blocks: int = 8
    upm_heads: int = 16
    upm_multiple_of: int = 256
    modality_tokens: int = 30
    router_hidden: int = 4096
    router_norm: str = "sigmoid"  # released: sigmoid then divide by the sum; "softmax" as the paper's Eq. 2
    # Modality tokenizers (input sizes as the codecs decode them)
    audio_mel_bins: int = 128
    audio_frames: int = 1024
    audio_patch: int = 16
    audio_stride: int = 10
    point_groups: int = 1024
    point_neighbors: int = 32
    point_channels: int = 6
    point_group_on: str = "rgb"  # released weights group on channels 3:6; "xyz" groups on 0:3
    imu_channels: int = 6
    imu_samples: int = 400
    imu_kernel: int = 10
    fmri_voxels: int = 15724
    fmri_tokens: int = 8

    def __post_init__(self) -> None:
        if self.router_norm not in ("sigmoid", "softmax"):
            raise ValueError(f"router_norm must be 'sigmoid' or 'softmax', got {self.router_norm!r}")
        if self.point_group_on not in ("rgb", "xyz"):
            raise ValueError(f"point_group_on must be 'rgb' or 'xyz', got {self.point_group_on!r}")
        for width, heads, what in ((self.dim, self.n_heads, "dim/n_heads"),
                                   (self.clip_width, self.clip_heads, "clip_width/clip_heads"),
                                   (self.clip_width, self.upm_heads, "clip_width/upm_heads")):
            if width % heads:
                raise ValueError(f"{what}: {width} is not divisible by {heads}")
        if self.n_heads % self.kv_heads:
            raise ValueError(f"n_heads {self.n_heads} is not a multiple of n_kv_heads {self.kv_heads}")

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def ffn_dim(self) -> int:
        return ffn_hidden(self.dim, self.multiple_of, self.ffn_dim_multiplier)

    @property
    def upm_ffn_dim(self) -> int:
        return ffn_hidden(self.clip_width, self.upm_multiple_of)

    @property
    def clip_grid(self) -> int:
        return self.clip_image_size // self.clip_patch

    @property
    def rope_positions(self) -> int:
        """Positions the RoPE table covers (the release builds it for 2 x max_seq_len)."""
        return 2 * self.max_seq_len

    def token_counts(self) -> dict[str, int]:
        """Patch tokens per modality before the class token (image 256, audio 1212, point 1024, imu 391, fmri 8)."""
        def conv_len(n: int) -> int:
            return (n - self.audio_patch) // self.audio_stride + 1
        return {"image": self.clip_grid ** 2,
                "audio": conv_len(self.audio_mel_bins) * conv_len(self.audio_frames),
                "point": self.point_groups,
                "imu": self.imu_samples - self.imu_kernel + 1,
                "fmri": self.fmri_tokens}

    def replace(self, **overrides: Any) -> ModelConfig:
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown ModelConfig field(s): {sorted(unknown)}")
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PRESETS: dict[str, ModelConfig] = {
    "onellm-7b": ModelConfig(),
    "tiny": ModelConfig(vocab_size=1000, dim=64, n_layers=2, n_heads=4, multiple_of=32, max_seq_len=512,
                        clip_width=32, clip_layers=2, clip_heads=2, clip_embed_dim=16,
                        upm_blocks=2, upm_heads=2, upm_multiple_of=32, router_hidden=128),
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    """A named preset with any fields overridden."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; known: {sorted(PRESETS)}")
    return PRESETS[name].replace(**overrides)
