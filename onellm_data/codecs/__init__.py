"""One codec per modality: ``prepare_*`` validates and normalises media at conversion (returning the shard
members and the index metadata); ``decode`` turns a sample's members into OneLLM's input tensor at load time;
``check_sample`` is the rule every sample passes before it enters a shard (that decode succeeds, exact shape,
finite values)."""

from __future__ import annotations

from onellm_data.codecs.check import DecodeFailure, check_sample
from onellm_data.codecs.dispatch import SHAPES, decode

__all__ = ["SHAPES", "DecodeFailure", "check_sample", "decode"]
