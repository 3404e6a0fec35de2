"""``onellm-data chat``: one question about one media file, answered by a trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from onellm_data.commands._model_options import Device, Dtype, Preset, Seed, TokenizerFile, Weights
from onellm_data.errors import OnellmDataError

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def chat(
        media: Annotated[str, typer.Argument(
            metavar="MEDIA", help="Media file: the image, video, audio, point cloud, fMRI .npy; the RGB image for "
                                  "depth/normal (with --map); the IMU recording (with --window). '-' with --modality "
                                  "text.")],
        question: Annotated[str, typer.Argument(
            metavar="QUESTION", help="The question (placeholders like <image> are not needed).")],
        weights: Weights,
        modality: Annotated[str, typer.Option(help="image, video, audio, point, depth, normal, imu, fmri, or "
                                                   "text.")],
        map_path: Annotated[Optional[Path], typer.Option("--map", help="Depth or normal map paired with the RGB "
                                                                      "image.")] = None,
        window: Annotated[Optional[tuple[float, float]], typer.Option(
            help="IMU window START END in seconds (2 s, as OneLLM's IMU tokenizer takes 400 samples at 200 Hz).")
        ] = None,
        tokenizer: TokenizerFile = None,
        preset: Preset = None,
        max_new_tokens: Annotated[int, typer.Option(min=1, help="Answer length limit in tokens.")] = 128,
        temperature: Annotated[float, typer.Option(min=0.0, help="0 = greedy (default); OneLLM's demo used 0.1.")
        ] = 0.0,
        top_p: Annotated[float, typer.Option(min=0.0, max=1.0, help="Nucleus mass when sampling (demo: 0.75).")
        ] = 1.0,
        seed: Seed = 0,
        device: Device = "auto",
        dtype: Dtype = "auto",
        onellm_compat: Annotated[bool, typer.Option(
            help="Decode as OneLLM's demo did: temperature 0.1, top-p 0.75, fp16 on GPU.")] = False,
        prompt_format: Annotated[str, typer.Option(
            "--format", help="auto (the format the weights trained on, from stage.json; OneLLM's release: chat), "
                             "chat, or caption (BOS alone: the model captions the input and the question is unused).")
        ] = "auto",
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object (answer, raw decoded text, "
                                                             "token counts) instead of the answer alone.")] = False,
    ) -> None:
        """Answer one question about one input, through the same codecs and conversation template as training."""
        # The model side pulls in torch: imported when the command runs so that `onellm-data --help` stays fast.
        from model.evaluate import DecodeSettings, ModelAnswerer, compat_dtype
        from model.inference import load_inference
        from model.media import MediaInput, check_input

        if modality == "text":
            if media not in ("-", ""):
                raise OnellmDataError("--modality text takes no media: pass '-' as MEDIA")
            item = None
        else:
            item = MediaInput(modality, Path(media), map_path=map_path,
                              window=tuple(window) if window is not None else None)
            check_input(item)
        settings = DecodeSettings.choose(max_new_tokens, temperature, top_p, seed, onellm_compat=onellm_compat,
                                         stop_at_separator=False)
        loaded = load_inference(weights, preset=preset, tokenizer=tokenizer, device=device,
                                dtype=compat_dtype(dtype, device, onellm_compat))
        fmt = loaded.info.format if prompt_format == "auto" else prompt_format
        answerer = ModelAnswerer(loaded.model, loaded.tokenizer, settings, fmt=fmt)
        if fmt == "caption":
            console.print("note: a caption-format model (alignment stage) takes no question; it captions the input")
        answer = answerer.ask(item, question)
        if as_json:
            typer.echo(json.dumps({"modality": modality, "media": None if item is None else str(item.path),
                                   "question": question, "format": fmt, "answer": answer.text, "raw": answer.raw,
                                   "new_tokens": answer.new_tokens, "prompt_tokens": answer.prompt_tokens},
                                  ensure_ascii=False))
        else:
            typer.echo(answer.text)
