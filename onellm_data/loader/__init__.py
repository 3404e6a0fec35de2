"""Recipe-driven, mixed-modality loading straight from the shards (see dataset.py for the design)."""

from onellm_data.loader.dataset import MixedDataset, MixedLoader, make_loader

__all__ = ["MixedDataset", "MixedLoader", "make_loader"]
