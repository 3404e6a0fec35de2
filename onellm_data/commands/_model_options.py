"""The options every command that runs a trained model takes (chat, eval), declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Weights = Annotated[Path, typer.Option(help="model.pt written by `onellm-data train` (or its output directory), or "
                                            "OneLLM's consolidated.00-of-01.pth.")]
TokenizerFile = Annotated[Optional[Path], typer.Option(
    "--tokenizer", help="SentencePiece tokenizer.model (default: next to the weights, else the bundled demo "
                        "tokenizer for a tiny-vocabulary model).")]
Preset = Annotated[Optional[str], typer.Option(
    help="Model preset for OneLLM's release file (default onellm-7b); our model.pt carries its config.")]
Seed = Annotated[int, typer.Option(help="Sampler seed (temperature > 0).")]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")]
Dtype = Annotated[str, typer.Option(help="auto (bf16 on GPU, fp32 on CPU), fp32, bf16, fp16.")]
