"""The load-side decode against OneLLM's own loader outputs (``../shared/golden``: arrays produced by OneLLM's code
with its pinned libraries on files of ``../shared/realdata``; its README says how). Each case decodes the same file
in eval mode and compares the same pixels/bins the golden array kept.

Cases are parametrised from ``onellm_inputs.json`` by kind; where the golden folder is absent (a user's clone)
each kind collects one case that skips with the reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch

from onellm_data.codecs import decode

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
GOLDEN = SHARED / "golden"
ABSENT = "OneLLM golden outputs not available (../shared/golden is only present in the team checkout)"


@dataclass(frozen=True)
class GoldenCase:
    name: str
    kind: str
    files: tuple[str, ...]  # relative to SHARED
    note: str

    def paths(self) -> list[Path]:
        paths = [SHARED / f for f in self.files]
        for path in paths:
            if not path.is_file():
                pytest.skip(f"real-data file {path.relative_to(SHARED)} not available")
        return paths

    def expected(self) -> np.ndarray:
        return _arrays()[self.name]


@lru_cache(maxsize=1)
def _arrays() -> dict[str, np.ndarray]:
    with np.load(GOLDEN / "onellm_inputs.npz") as npz:
        return {name: npz[name] for name in npz.files}


def golden_cases(kind: str) -> list:
    """pytest params for every golden array of ``kind`` (ids are the array names); one skipping param if absent."""
    listing = GOLDEN / "onellm_inputs.json"
    if not listing.is_file():
        return [pytest.param(None, id=f"{kind}-absent", marks=pytest.mark.skip(reason=ABSENT))]
    cases = [GoldenCase(e["name"], e["kind"], tuple(e["files"]), e.get("note", ""))
             for e in json.loads(listing.read_text()) if e["kind"] == kind]
    assert cases, f"no golden case of kind {kind}"
    return [pytest.param(c, id=c.name) for c in cases]


def media_member(path: Path) -> dict[str, bytes]:
    """A shard's member dict for one media file, keyed by its extension as the converters store it."""
    return {path.suffix.lower().lstrip("."): path.read_bytes()}


def max_diff(got: torch.Tensor, want: np.ndarray) -> float:
    assert tuple(got.shape) == want.shape, (tuple(got.shape), want.shape)
    return float(np.abs(got.numpy().astype(np.float64) - want.astype(np.float64)).max())


# ---------------------------------------------------------------- image, video, audio


@pytest.mark.parametrize("case", golden_cases("image_eval"))
def test_image_eval_transform_matches_onellm(case: GoldenCase) -> None:
    x = decode("image", media_member(case.paths()[0]))
    assert max_diff(x[:, ::2, ::2], case.expected()) < 1e-5


@pytest.mark.parametrize("case", golden_cases("video"))
def test_video_frames_and_pixels_match_onellm(case: GoldenCase) -> None:
    x = decode("video", media_member(case.paths()[0]))
    # Any wrong frame differs by whole colour levels (>0.1); bilinear scaling matches to float rounding.
    assert max_diff(x[:, :, ::4, ::4], case.expected()) < 1e-4


@pytest.mark.parametrize("case", golden_cases("audio"))
def test_audio_fbank_matches_onellm(case: GoldenCase) -> None:
    x = decode("audio", media_member(case.paths()[0]))
    assert max_diff(x, case.expected()) < 2e-3


# ---------------------------------------------------------------- point centres


@pytest.mark.parametrize("case", golden_cases("point_fps_rgb"))
def test_point_fps_centres_match_onellm(case: GoldenCase) -> None:
    """The cloud as converted and loaded, then the point tokenizer's FPS on its RGB columns (pointnet2's CUDA
    kernel semantics, emulated on CPU): every one of the 1024 centre indices, in order."""
    from model.modality_tokenizers import farthest_point_sample
    from onellm_data.codecs.point import prepare_point
    from onellm_data.codecs.point_fps import fps_kernel_reference

    x = decode("point", prepare_point(case.paths()[0])[0])
    want = case.expected().astype(np.int64)
    assert farthest_point_sample(x[None, :, 3:6], 1024)[0].numpy().tolist() == want.tolist()
    assert fps_kernel_reference(x[:, 3:6].numpy(), 1024).tolist() == want.tolist()


# ---------------------------------------------------------------- depth / normal pairs


def crop_box(note: str) -> tuple[int, int, int, int]:
    """The training crop (top, left, h, w) recorded in a depth_pair note."""
    import re

    found = re.search(r"\(top,left,h,w\)=\((\d+), (\d+), (\d+), (\d+)\)", note)
    assert found, note
    return tuple(int(v) for v in found.groups())  # type: ignore[return-value]


@pytest.mark.parametrize("case", golden_cases("depth_pair"))
def test_depth_normal_pair_matches_onellm(case: GoldenCase) -> None:
    """The pair as converted and loaded with the recorded training crop: maps of another size than the image are
    resized bicubic as OneLLM's loader. For 16-bit maps the map half differs on purpose (our scaling by the
    maximum; OneLLM's ``convert('RGB')`` clips everything above 255): the test checks that the golden map is that
    clipping, so the documented difference is exactly the one there is."""
    from PIL import Image

    from onellm_data.codecs._vision import crop_resize, normalize, to_tensor
    from onellm_data.codecs.depth import decode_map_pair, prepare_map_pair

    rgb_path, map_path = case.paths()
    kind = "normal" if "/normal/" in str(map_path) else "depth"
    members, meta = prepare_map_pair(rgb_path, map_path, kind)
    image = next(v for k, v in members.items() if "." not in k)  # the RGB member: jpg or png
    box = crop_box(case.note)
    x = decode_map_pair(image, members[f"{kind}.png"], train=True, box=box)[:, :, ::2, ::2]
    want = case.expected()
    assert max_diff(x[0], want[0]) < 1e-5
    if meta["map_mode"] in ("L", "RGB"):
        assert max_diff(x[1], want[1]) < 1e-5
    else:
        clipped = Image.open(map_path).convert("RGB")  # what OneLLM's loader sees
        assert np.asarray(clipped).max() == 255 and len(np.unique(np.asarray(clipped))) == 2
        onellm = normalize(to_tensor(crop_resize(clipped, box)))[:, ::2, ::2]
        assert max_diff(onellm, want[1]) < 1e-5
        assert max_diff(x[1], want[1]) > 0.5
