"""Conversion runs: records → partitions → committed shards + index parts → merged index."""

from onellm_data.pipeline.partition import PartitionResult, PartitionTask, ShardSettings, convert_partition
from onellm_data.pipeline.runner import ConversionSummary, run_conversion

__all__ = [
    "ConversionSummary",
    "PartitionResult",
    "PartitionTask",
    "ShardSettings",
    "convert_partition",
    "run_conversion",
]
