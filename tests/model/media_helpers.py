"""Random media of the shapes the codecs decode to, for the model tests."""

import torch

MEDIA_SHAPES = {"image": (3, 224, 224), "video": (15, 3, 224, 224), "depth": (2, 3, 224, 224),
                "normal": (2, 3, 224, 224), "audio": (1, 128, 1024), "point": (8192, 6), "imu": (6, 400),
                "fmri": (1, 15724)}


def random_media(modality: str, batch: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, *MEDIA_SHAPES[modality], generator=g)
