"""A real corpus (jsonl conversions: tars + index) with planted duplicates, for the dedup and contamination tests.

Sources and what is planted:

- ``alpha`` (captions): photo 0, photo 1, tone A (wav), cloud A;
- ``beta`` (captions): photo 0 byte-copied (exact), photo 2 (unique), tone A re-encoded as FLAC (same samples),
  cloud A with its rows shuffled (same cloud);
- ``gamma`` (instructions): photo 0 resized ×2 and recompressed (near) with two different questions, and a
  repeat of the first question (same media, same answer), photo 3 (unique), tone B (unique), cloud B (unique).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw

from onellm_data.converters.jsonl import JsonlConverter
from onellm_data.pipeline import ShardSettings, run_conversion

CAPTIONS = {0: "A red circle above a blue stripe on grey.", 1: "Two green squares side by side.",
            2: "A yellow triangle in the corner.", 3: "Purple rings around a dark centre."}


def photo(seed: int, size: tuple[int, int] = (96, 72)) -> Image.Image:
    """A structured picture (shapes, not noise: perceptual hashes describe structure)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = rng.integers(0, size[0] - 20), rng.integers(0, size[1] - 20)
        w, h = rng.integers(10, size[0] // 2), rng.integers(10, size[1] // 2)
        draw.rectangle([int(x0), int(y0), int(x0 + w), int(y0 + h)], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return img


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def tone(freq: float, seconds: float = 1.5, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.4 * np.sin(2 * np.pi * freq * t) * np.minimum(1, t * 4) + 0.1 * np.sin(2 * np.pi * 3 * freq * t)
            ).astype(np.float32)


def cloud(seed: int, n: int = 8192) -> np.ndarray:
    rng = np.random.default_rng(seed)
    u = rng.uniform(0, 1, n)
    shape = np.stack([np.cos(8 * u + seed) * (1 + seed), np.sin(5 * u) * 2, u * 3], 1) + rng.normal(0, 0.02, (n, 3))
    return np.concatenate([shape, rng.uniform(0, 1, (n, 3))], 1).astype(np.float32)


def _turns(question: str, answer: str, placeholder: str) -> list[dict[str, str]]:
    return [{"from": "human", "value": f"{placeholder}\n{question}"}, {"from": "gpt", "value": answer}]


def _caption(sample_id: str, modality: str, member: tuple[str, str], answer: str) -> dict:
    return {"id": sample_id, "modality": modality, "media": {member[0]: member[1]}, "meta": {"task": "caption"},
            "conversations": _turns("Provide a one-sentence caption.", answer, f"<{modality}>")}


def _measured(path: Path, modality: str) -> dict:
    """The media metadata a jsonl line carries (the jsonl converter takes it from ``meta``), measured here."""
    if modality == "image":
        with Image.open(path) as im:
            return {"width": im.width, "height": im.height}
    if modality == "audio":
        info = sf.info(str(path))
        return {"duration": round(info.frames / info.samplerate, 4), "sample_rate": info.samplerate,
                "channels": info.channels}
    if modality == "point":
        return {"num_points": int(np.load(path).shape[0])}
    return {}


def _write(raw: Path, files: dict[str, bytes], lines: list[dict]) -> Path:
    for rel, data in files.items():
        (raw / rel).parent.mkdir(parents=True, exist_ok=True)
        (raw / rel).write_bytes(data)
    for line in lines:
        rel = next(iter(line["media"].values()))
        line["meta"] = {**line.get("meta", {}), **_measured(raw / rel, line["modality"])}
    (raw / "samples.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return raw


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _audio(wave: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    # int16 samples: both containers then hold exactly the same PCM (float input is rounded per format).
    sf.write(buf, np.round(wave * 32767).astype(np.int16), 16000, format=fmt, subtype="PCM_16")
    return buf.getvalue()


def build_planted_corpus(tmp: Path, tokenizer: str | None = None) -> Path:
    """The corpus under ``tmp/corpus`` (``tokenizer=""``: no token counts in the index)."""
    corpus = tmp / "corpus"
    photo0 = jpeg(photo(0))
    alpha = _write(tmp / "raw" / "alpha", {"p0.jpg": photo0, "p1.jpg": jpeg(photo(1)),
                                           "a.wav": _audio(tone(440), "WAV"), "c.npy": _npy(cloud(1))}, [
        _caption("p0", "image", ("jpg", "p0.jpg"), CAPTIONS[0]),
        _caption("p1", "image", ("jpg", "p1.jpg"), CAPTIONS[1]),
        _caption("a", "audio", ("wav", "a.wav"), "A steady high tone with a soft start."),
        _caption("c", "point", ("npy", "c.npy"), "A twisted ribbon standing upright."),
    ])
    shuffled = cloud(1)[np.random.default_rng(5).permutation(8192)]
    beta = _write(tmp / "raw" / "beta", {"copy.jpg": photo0, "p2.jpg": jpeg(photo(2)),
                                         "a.flac": _audio(tone(440), "FLAC"), "c.npy": _npy(shuffled)}, [
        _caption("copy", "image", ("jpg", "copy.jpg"), "Shapes on a plain background."),
        _caption("p2", "image", ("jpg", "p2.jpg"), CAPTIONS[2]),
        _caption("a", "audio", ("flac", "a.flac"), "One sine tone, fading in."),
        _caption("c", "point", ("npy", "c.npy"), "A ribbon shaped object."),
    ])
    big = photo(0).resize((192, 144), Image.BICUBIC)
    gamma = _write(tmp / "raw" / "gamma", {"big.jpg": jpeg(big, 75), "p3.jpg": jpeg(photo(3)),
                                           "b.wav": _audio(tone(97) * np.linspace(1, 0, 24000, dtype=np.float32),
                                                           "WAV"),
                                           "c.npy": _npy(cloud(4))}, [
        {"id": "q1", "modality": "image", "media": {"jpg": "big.jpg"},
         "conversations": _turns("What colour is the circle?", "Red.", "<image>")},
        {"id": "q2", "modality": "image", "media": {"jpg": "big.jpg"},
         "conversations": _turns("Where is the stripe?", "Below the circle.", "<image>")},
        {"id": "q1again", "modality": "image", "media": {"jpg": "big.jpg"},
         "conversations": _turns("What colour is the circle?", "Red.", "<image>")},
        {"id": "p3", "modality": "image", "media": {"jpg": "p3.jpg"},
         "conversations": _turns("Describe the picture.", CAPTIONS[3], "<image>")},
        {"id": "b", "modality": "audio", "media": {"wav": "b.wav"},
         "conversations": _turns("What do you hear?", "A low hum that fades out.", "<audio>")},
        {"id": "c", "modality": "point", "media": {"npy": "c.npy"},
         "conversations": _turns("What is this?", "A coiled spring.", "<point>")},
    ])
    for name, raw in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        run_conversion(JsonlConverter(raw, source=name), corpus, ShardSettings(max_count=4, tokenizer=tokenizer))
    return corpus


TOKENIZER = Path(__file__).resolve().parents[2] / "model" / "assets" / "demo_tokenizer.model"
MEDIA_MIX = "    - modality: image\n    - modality: audio\n"


def quality_recipe(path: Path, corpus: Path, data_block: str, mix: str = MEDIA_MIX) -> Path:
    """A tiny chat recipe over ``corpus`` whose ``data:`` section carries ``data_block`` (exclude or filters
    lines, indented two spaces) before its mix."""
    path.write_text(f"""name: quality
format: chat
model: {{preset: tiny}}
trainable: [llm]
tokenizer: {TOKENIZER}
data:
  corpus: {corpus}
  seq_len: 64
  batch_size: {{default: 2}}
{data_block}  mix:
{mix}optim: {{lr: 1.0e-3}}
schedule: {{max_steps: 2}}
""")
    return path
