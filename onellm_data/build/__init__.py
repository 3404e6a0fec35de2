"""Conversion runs: records → partitions → committed shards + index parts → merged index."""

from onellm_data.build.partition import PartitionResult, PartitionTask, ShardSettings, convert_partition
from onellm_data.build.runner import ConversionSummary, run_conversion

__all__ = [
    "ConversionSummary",
    "PartitionResult",
    "PartitionTask",
    "ShardSettings",
    "convert_partition",
    "run_conversion",
]
