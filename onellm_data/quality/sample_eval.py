"""Tiny evaluation sets in their official layouts beside the bundled sample sources, with planted overlap, so the
demo's contamination check has something true to find (and unique items it must not flag):

- ``coco`` (Karpathy-style COCO captions JSON): image 9 copied byte for byte from the COCO sample (same id and
  media), a resized and recompressed copy of the LAION sample's first image under a new id (near duplicate), one
  reference caption equal to a training caption, and two unique images with unique captions;
- ``clotho`` (``clotho_captions_evaluation.csv``): an AudioCaps sample clip under a new file name (same audio), and
  a unique tone;
- ``pointllm`` (PointLLM's val GT JSON): one training object id (and its cloud), and a unique cloud.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image


def _unique_image(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:40, 0:56]
    base = (np.sin(x / (3 + seed)) * np.cos(y / (2 + seed)) * 120 + 128).astype(np.uint8)
    rgb = np.stack([base, np.roll(base, seed * 7, 1), 255 - base], -1) ^ rng.integers(0, 16, (40, 56, 3), np.uint8)
    Image.fromarray(rgb).save(path, quality=92)


def _laion_first_image(raw: Path) -> Image.Image:
    with tarfile.open(raw / "laion" / "images" / "00000.tar") as tar:
        names = sorted(n for n in tar.getnames() if n.endswith(".jpg"))
        return Image.open(io.BytesIO(tar.extractfile(names[0]).read())).convert("RGB")


def write_coco(raw: Path, out: Path) -> tuple[Path, Path]:
    media = out / "coco" / "images"
    media.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw / "coco_captions" / "train2017" / "000000000009.jpg", media / "COCO_val2014_000000000009.jpg")
    near = _laion_first_image(raw)
    near.resize((near.width * 2, near.height * 2), Image.BICUBIC).save(media / "COCO_val2014_000000500001.jpg",
                                                                       quality=80)
    _unique_image(media / "COCO_val2014_000000500002.jpg", 1)
    _unique_image(media / "COCO_val2014_000000500003.jpg", 2)
    train_caption = json.loads((raw / "coco_captions" / "annotations" / "captions_train2017.json").read_text()
                               )["annotations"][2]["caption"]
    images = [
        {"id": 9, "file_name": "COCO_val2014_000000000009.jpg", "sentences": ["A tabby cat curled up on a doormat."]},
        {"id": 500001, "file_name": "COCO_val2014_000000500001.jpg",
         "sentences": ["An enlarged photo from the web crawl."]},
        {"id": 500002, "file_name": "COCO_val2014_000000500002.jpg",
         "sentences": [train_caption.upper() + "!", "Blue stripes over an orange field."]},
        {"id": 500003, "file_name": "COCO_val2014_000000500003.jpg",
         "sentences": ["Wavy lines in purple and green tones."]},
    ]
    anns = [{"id": 10 * im["id"] + k, "image_id": im["id"], "caption": c}
            for im in images for k, c in enumerate(im["sentences"])]
    path = out / "coco" / "coco_karpathy_test_gt.json"
    path.write_text(json.dumps({"images": [{k: v for k, v in im.items() if k != "sentences"} for im in images],
                                "annotations": anns}))
    return path, media


def write_clotho(raw: Path, out: Path) -> tuple[Path, Path]:
    media = out / "clotho" / "evaluation"
    media.mkdir(parents=True, exist_ok=True)
    wav, rate = sf.read(raw / "audiocaps" / "audio" / "ytA0000001a_30.wav")
    sf.write(media / "Dog barking near the road.wav", wav, rate)
    t = np.arange(rate * 2) / rate
    sf.write(media / "Rain on a tin roof at night.wav", 0.3 * np.sin(2 * np.pi * (300 + 400 * t) * t), rate)
    path = out / "clotho" / "clotho_captions_evaluation.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file_name", *(f"caption_{k}" for k in range(1, 6))])
        w.writerow(["Dog barking near the road.wav", *(f"a dog barks by a busy road, take {k}" for k in range(5))])
        w.writerow(["Rain on a tin roof at night.wav", *(f"rain drums on a metal roof, take {k}" for k in range(5))])
    return path, media


def write_pointllm(raw: Path, out: Path) -> tuple[Path, Path]:
    media = out / "pointllm" / "8192_npy"
    media.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw / "pointllm_instruct" / "objaverse_data" / "a1b2c3d4e5f6_8192.npy",
                    media / "a1b2c3d4e5f6_8192.npy")
    rng = np.random.default_rng(7)
    theta = rng.uniform(0, 2 * np.pi, 8192)
    ring = np.stack([np.cos(theta) * 3, np.sin(theta), rng.normal(0, 0.05, 8192)], 1)
    np.save(media / "ffff0000aaaa_8192.npy", np.concatenate([ring, rng.uniform(0, 1, (8192, 3))], 1).astype(np.float32))
    gt = [{"object_id": oid, "conversations": [{"from": "human", "value": "<point>\nWhat is this?"},
                                                {"from": "gpt", "value": cap}]}
          for oid, cap in (("a1b2c3d4e5f6", "A wooden chair with a tall back."),
                           ("ffff0000aaaa", "A thin flat ring lying on the floor."))]
    path = out / "pointllm" / "PointLLM_brief_description_val_200_GT.json"
    path.write_text(json.dumps(gt))
    return path, media


def write_sample_eval_sets(raw: Path, out: Path) -> dict[str, tuple[Path, Path]]:
    """name → (annotations, media root) for the demo's contamination check."""
    raw, out = Path(raw), Path(out)
    return {"coco": write_coco(raw, out), "clotho": write_clotho(raw, out), "pointllm": write_pointllm(raw, out)}
