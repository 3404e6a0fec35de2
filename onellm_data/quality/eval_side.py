"""What an evaluation item is compared by (ids, media fingerprint, caption and question hashes), shared by the
readers of the paper's eval sets and of the extra held-out splits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onellm_data.quality.fingerprint import Fingerprint

# (name, annotations, media root) -> an eval set with .modality, .items and .references, as ``eval`` reads it
EvalSetReader = Callable[[str, Path, Path], Any]


@dataclass(frozen=True)
class EvalRef:
    """What one eval item is compared by."""

    eval_set: str
    item: str
    modality: str
    ids: tuple[str, ...]
    fingerprint: Fingerprint | None
    captions: tuple[int, ...] = ()
    questions: tuple[int, ...] = ()


@dataclass
class EvalSide:
    name: str
    modality: str
    refs: list[EvalRef]
    notes: list[str] = field(default_factory=list)


def file_fingerprint(modality: str, path: Path) -> Fingerprint | None:
    from onellm_data.quality import fingerprint as fp

    if modality == "image":
        return fp.image_fingerprint(fp._open(Path(path).read_bytes()))
    if modality == "video":
        return fp.video_fingerprint(Path(path).read_bytes())
    if modality == "audio":
        return fp.audio_fingerprint(Path(path).read_bytes())
    if modality == "point":
        from onellm_data.codecs.point import load_points, normalise_points

        return fp.point_fingerprint(normalise_points(load_points(path))[0])
    return None  # imu windows and fmri volumes: compared by id
