"""Per-modality tokenizers: raw media → patch tokens of CLIP's width, ready for the shared CLIP blocks.

image/video/depth/normal use CLIP's own patch conv and positions (frames folded into the batch; the caller averages
them after the encoder). The others own a ``conv1[m]`` and a learnable ``positional_embedding[m]`` of the released
sizes: audio Conv2d 16x16 stride 10 (1212 tokens), point FPS + KNN grouping + 1x1 conv + max (1024), IMU Conv1d k=10
(391), fMRI Linear 15724 → 8·C reshaped to 8 tokens. Every table has one extra row for CLIP's class token.
"""

from __future__ import annotations

import torch
from torch import nn

from model.clip_vit import VisionTransformer
from model.config import ModelConfig
from onellm_data.codecs.point_fps import farthest_point_sample  # pointnet2 CUDA kernel semantics, exactly

FRAME_MODALITIES = ("video", "depth", "normal", "rgbd", "rgbn")


class PointPatchEmbed(nn.Module):
    """FPS to ``groups`` centres, ``neighbors`` nearest points each, 1x1 conv on raw channels, max over neighbours."""

    def __init__(self, channels: int, width: int, groups: int, neighbors: int, group_on: str) -> None:
        super().__init__()
        self.groups, self.neighbors = groups, neighbors
        self.coords = slice(3, 6) if group_on == "rgb" else slice(0, 3)  # released weights group on RGB
        self.conv1 = nn.Conv2d(channels, width, kernel_size=1)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 6) → (B, groups, width)."""
        b = points.shape[0]
        with torch.no_grad():
            where = points[..., self.coords].float()
            centres = farthest_point_sample(where, self.groups)  # (B, G)
            centre_xyz = where[torch.arange(b, device=points.device)[:, None], centres]  # (B, G, 3)
            knn = torch.cdist(centre_xyz, where).topk(self.neighbors, dim=-1, largest=False).indices  # (B, G, k)
        grouped = points[torch.arange(b, device=points.device)[:, None, None], knn]  # (B, G, k, 6)
        x = self.conv1(grouped.permute(0, 3, 1, 2).to(self.conv1.weight.dtype))  # (B, C, G, k)
        return x.amax(dim=-1).transpose(1, 2)


class ModalityTokenizers(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c, counts = cfg.clip_width, cfg.token_counts()
        self.cfg = cfg
        self.conv1 = nn.ModuleDict({
            "audio": nn.Conv2d(1, c, kernel_size=cfg.audio_patch, stride=cfg.audio_stride),
            "point": PointPatchEmbed(cfg.point_channels, c, cfg.point_groups, cfg.point_neighbors, cfg.point_group_on),
            "fmri": nn.Linear(cfg.fmri_voxels, cfg.fmri_tokens * c),
            "imu": nn.Conv1d(cfg.imu_channels, c, kernel_size=cfg.imu_kernel, bias=False),
        })
        self.positional_embedding = nn.ParameterDict(
            {m: nn.Parameter(0.02 * torch.randn(counts[m] + 1, c)) for m in ("audio", "point", "fmri", "imu")})

    def expected_shape(self, modality: str) -> tuple[int, ...]:
        cfg, s = self.cfg, self.cfg.clip_image_size
        return {"image": (3, s, s), "video": (-1, 3, s, s), "depth": (2, 3, s, s), "normal": (2, 3, s, s),
                "rgbd": (2, 3, s, s), "rgbn": (2, 3, s, s),
                "audio": (1, cfg.audio_mel_bins, cfg.audio_frames),
                "point": (-1, cfg.point_channels), "imu": (cfg.imu_channels, cfg.imu_samples),
                "fmri": (1, cfg.fmri_voxels)}[modality]

    def check(self, x: torch.Tensor, modality: str) -> None:
        want = self.expected_shape(modality)
        got = tuple(x.shape[1:])
        if len(got) != len(want) or any(w not in (-1, g) for w, g in zip(want, got)):
            raise ValueError(f"{modality} input must be [B, {', '.join('*' if w < 0 else str(w) for w in want)}], "
                             f"got {list(x.shape)}")

    def embed(self, x: torch.Tensor, modality: str, visual: VisionTransformer) -> tuple[torch.Tensor, int]:
        """Media (B, ...) → (tokens (B·T, N+1, C) with class token, positions, ``ln_pre``; frames T per sample)."""
        if modality == "fmri" and x.dim() == 2:
            x = x.unsqueeze(1)
        if modality not in ("image", "audio", "point", "imu", "fmri") + FRAME_MODALITIES:
            raise ValueError(f"no tokenizer for modality {modality!r}")
        self.check(x, modality)
        if modality == "image":
            return visual.embed(visual.patchify(x)), 1
        if modality in FRAME_MODALITIES:
            frames = x.shape[1]
            return visual.embed(visual.patchify(x.flatten(0, 1))), frames
        conv = self.conv1[modality]
        x = x.to(visual.conv1.weight.dtype)
        if modality == "audio":
            tokens = conv(x).flatten(2).transpose(1, 2)  # (B, 12·101, C)
        elif modality == "imu":
            tokens = conv(x).transpose(1, 2)  # (B, 391, C)
        elif modality == "fmri":
            # released order: the 8·C outputs are read as (C, 8), i.e. channel-major
            tokens = conv(x.flatten(1)).view(x.shape[0], -1, self.cfg.fmri_tokens).transpose(1, 2)
        else:
            tokens = conv(x)
        return visual.embed(tokens, self.positional_embedding[modality]), 1
