"""Image transforms on PIL/numpy/torch (no torchvision): CLIP normalisation, bicubic resize, centre crop,
and a random-resized-crop whose parameters come from a seeded torch.Generator (so two images can share one)."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

CLIP_MEAN = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(3, 1, 1)
CLIP_STD = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(3, 1, 1)
SIZE = 224


def to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL image → float [3, H, W] in [0, 1]."""
    arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - CLIP_MEAN) / CLIP_STD


def resize_short(img: Image.Image, size: int = SIZE) -> Image.Image:
    """Resize so the short side is ``size`` (aspect kept), bicubic, as CLIP's eval transform."""
    w, h = img.size
    if w <= h:
        new = (size, max(1, int(size * h / w)))
    else:
        new = (max(1, int(size * w / h)), size)
    return img.resize(new, Image.BICUBIC) if new != (w, h) else img


def center_crop(img: Image.Image, size: int = SIZE) -> Image.Image:
    w, h = img.size
    left, top = int(round((w - size) / 2.0)), int(round((h - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def eval_image(img: Image.Image) -> torch.Tensor:
    return normalize(to_tensor(center_crop(resize_short(img))))


def random_resized_crop_params(width: int, height: int, generator: torch.Generator | None,
                               scale: tuple[float, float] = (0.9, 1.0),
                               ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> tuple[int, int, int, int]:
    """(top, left, h, w) of a crop covering ``scale`` of the area with aspect in ``ratio`` (10 tries, then centre)."""
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        u = torch.rand(2, generator=generator).tolist()
        target = area * (scale[0] + (scale[1] - scale[0]) * u[0])
        aspect = math.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * u[1])
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - w + 1, (1,), generator=generator))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def crop_resize(img: Image.Image, box: tuple[int, int, int, int], size: int = SIZE) -> Image.Image:
    """Crop ``box`` = (top, left, h, w), then resize to ``size`` × ``size`` bicubic, as torchvision's
    ``resized_crop`` on a PIL image (resizing with PIL's ``box=`` instead would let the filter read pixels
    outside the crop and differ by up to ~15 levels at the edges)."""
    top, left, h, w = box
    return img.crop((left, top, left + w, top + h)).resize((size, size), Image.BICUBIC)


def train_image(img: Image.Image, generator: torch.Generator | None) -> torch.Tensor:
    box = random_resized_crop_params(img.width, img.height, generator)
    return normalize(to_tensor(crop_resize(img, box)))
