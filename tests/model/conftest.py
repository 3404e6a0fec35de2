"""Tiny-preset model shared by the model tests."""

import pytest
import torch

from model.config import preset
from model.onellm import OneLLM


@pytest.fixture(scope="module")
def tiny_model() -> OneLLM:
    torch.manual_seed(0)
    return OneLLM(preset("tiny")).eval()
