"""Reproducible, atomically committed WebDataset tar shards."""

from onellm_data.shards.tarwriter import TarShardWriter, member_name

__all__ = ["TarShardWriter", "member_name"]
