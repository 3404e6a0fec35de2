"""Video codec: metadata, which frames are sampled (pytorchvideo's rule), crops, and corrupt input."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import decord
import pytest
import torch
import torch.nn.functional as F

from onellm_data.codecs.video import (
    clip_frame_indices, decode_video, prepare_video, short_side_scale, spatial_crops,
)
from onellm_data.errors import CodecError
from tests.codecs.media import CLIP_MEAN, CLIP_STD, frame_levels, grey_video, unnormalize
from tests.conftest import realdata


def rule_indices(num_frames: int, fps: float) -> list[int]:
    """pytorchvideo 0.1.5 written out: 5 one-second clips starting at k·(dur − 1)/5 (its
    ConstantClipsPerVideoSampler divides the span by clips_per_video), the first frame of each clip (UniformTemporalSubsample(1) of EncodedVideoDecord.get_clip, whose first frame
    is ceil(fps · start))."""
    duration = num_frames / fps
    starts = [Fraction(max(duration - 1, 0)) * k / 5 for k in range(5)]
    return [math.ceil(fps * float(s)) for s in starts]


def sampled_levels(x: torch.Tensor) -> list[int]:
    """The grey level of each clip's centre crop (all crops of a flat frame are equal)."""
    rgb = unnormalize(x.numpy())  # [15, 3, 224, 224] in [0, 1]
    return [int(round(float(rgb[3 * c + 1].mean()) * 255)) for c in range(5)]


def level_to_frame(level: int) -> int:
    return int(round((level - 2) / 4))


# ---------------------------------------------------------------- frame sampling rule


@pytest.mark.parametrize("n,fps,expected", [
    (64, 10.0, [0, 11, 22, 33, 44]),     # 6.4 s: starts 0, 1.08, 2.16, 3.24, 4.32 s; ceil, not round (10.8 → 11)
    (164, 25.0, [0, 28, 56, 84, 112]),   # mmaction2's test.avi: 6.56 s
    (161, 29.97, [0, 27, 53, 79, 105]),  # WebVid 1020335461.mp4, the frames OneLLM's loader decodes
    (30, 10.0, [0, 4, 8, 12, 16]),       # 3 s (shorter than 5 s): clips overlap
    (8, 10.0, [0, 0, 0, 0, 0]),          # shorter than one clip
    (250, 30000 / 1001, None), (1, 25.0, [0, 0, 0, 0, 0]),
])
def test_clip_frame_indices_follow_pytorchvideo(n: int, fps: float, expected: list[int] | None) -> None:
    got = clip_frame_indices(n, fps)
    assert got == rule_indices(n, fps)
    if expected is not None:
        assert got == expected
    assert all(0 <= i < n for i in got)


def test_generated_video_samples_the_rule_frames_clip_major(tmp_path: Path) -> None:
    levels = frame_levels(64)
    path = grey_video(tmp_path / "grey.mp4", levels, fps=10)  # 6.4 s
    members, meta = prepare_video(path)
    assert list(members) == ["mp4"] and members["mp4"] == path.read_bytes()
    assert meta == {"duration": 6.4, "fps": 10.0, "width": 160, "height": 120, "num_frames": 64}
    x = decode_video(members["mp4"])
    assert x.shape == (15, 3, 224, 224) and x.dtype == torch.float32
    frames = [level_to_frame(v) for v in sampled_levels(x)]
    assert frames == rule_indices(64, 10.0) == [0, 11, 22, 33, 44]
    # Clip-major: the three crops of clip c are rows 3c, 3c+1, 3c+2 and show the same frame.
    rgb = unnormalize(x.numpy())
    for c in range(5):
        for j in range(3):
            assert abs(rgb[3 * c + j].mean() * 255 - levels[frames[c]]) < 1.5


def test_generated_short_video_and_avi(tmp_path: Path) -> None:
    levels = frame_levels(30)
    path = grey_video(tmp_path / "short.avi", levels, fps=10, codec="mpeg4")  # 3 s, shorter than 5 s
    members, meta = prepare_video(path)
    assert list(members) == ["avi"]
    assert meta["num_frames"] == 30 and meta["duration"] == 3.0
    frames = [level_to_frame(v) for v in sampled_levels(decode_video(members["avi"]))]
    assert frames == [0, 4, 8, 12, 16]


def test_sub_second_video_repeats_the_first_frame(tmp_path: Path) -> None:
    path = grey_video(tmp_path / "tiny.mp4", frame_levels(6), fps=10)
    x = decode_video(path.read_bytes())
    assert [level_to_frame(v) for v in sampled_levels(x)] == [0] * 5


def test_decode_is_the_same_in_train_and_eval(tmp_path: Path) -> None:
    data = grey_video(tmp_path / "g.mp4", frame_levels(12), fps=10).read_bytes()
    assert torch.equal(decode_video(data), decode_video(data, train=True, generator=torch.Generator().manual_seed(1)))


# ---------------------------------------------------------------- scale and crops


def test_no_decord_reader_is_alive_during_the_tensor_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """decord decodes ahead on its own thread while a reader lives: the scale/crop/normalise work must run after
    the reader is gone, in conversion and in loading, or that thread's CPU time is spent on frames nobody uses."""
    import gc
    import weakref

    from onellm_data.codecs import video

    data = grey_video(tmp_path / "g.mp4", frame_levels(40), fps=10).read_bytes()
    opened, open_real, tensor_real = [], video.open_video, video._load_tensor
    alive: list[int] = []

    def opening(blob: bytes):
        reader = open_real(blob)
        opened.append(weakref.ref(reader))
        return reader

    def watching(raw: torch.Tensor):
        gc.collect()
        alive.append(sum(ref() is not None for ref in opened))
        return tensor_real(raw)

    monkeypatch.setattr(video, "open_video", opening)
    monkeypatch.setattr(video, "_load_tensor", watching)
    video.prepare_video(data, ext="mp4")
    video.decode_video(data)
    assert len(opened) == 2
    assert alive == [0, 0]


def test_short_side_scale_sizes_follow_pytorchvideo() -> None:
    for h, w, expected in [(240, 320, (224, 298)), (336, 596, (224, 397)), (320, 240, (298, 224)),
                           (224, 224, (224, 224)), (100, 99, (226, 224))]:
        assert tuple(short_side_scale(torch.zeros(1, 3, h, w)).shape[-2:]) == expected


def test_spatial_crops_are_start_centre_end_with_ceil_centre() -> None:
    frames = torch.arange(225, dtype=torch.float32).view(1, 1, 1, 225).expand(1, 3, 224, 225)
    assert [int(c[0, 0, 0, 0]) for c in spatial_crops(frames)] == [0, 1, 1]  # centre offset ceil(1/2) = 1
    tall = torch.arange(300, dtype=torch.float32).view(1, 1, 300, 1).expand(1, 3, 300, 224)
    assert [int(c[0, 0, 0, 0]) for c in spatial_crops(tall)] == [0, 38, 76]


# ---------------------------------------------------------------- real files


def _reference_decode(path: Path, expected_idx: list[int]) -> torch.Tensor:
    """OneLLM's pipeline written out: decord frames → /255 → ShortSideScale(224) bilinear → CLIP norm →
    SpatialCrop(224, 3) → stack, clip-major."""
    reader = decord.VideoReader(str(path), num_threads=1)
    frames = torch.from_numpy(reader.get_batch(expected_idx).asnumpy()).float() / 255.0  # [5, H, W, 3]
    frames = frames.permute(0, 3, 1, 2)
    h, w = frames.shape[-2:]
    size = (224, int(math.floor(w / h * 224))) if w >= h else (int(math.floor(h / w * 224)), 224)
    frames = F.interpolate(frames, size=size, mode="bilinear", align_corners=False)
    frames = (frames - torch.tensor(CLIP_MEAN, dtype=torch.float32)) / torch.tensor(CLIP_STD, dtype=torch.float32)
    h, w = frames.shape[-2:]
    y, x = math.ceil((h - 224) / 2), math.ceil((w - 224) / 2)
    offsets = [(y, 0), (y, x), (y, w - 224)] if w >= h else [(0, x), (y, x), (h - 224, x)]
    out = [frames[c, :, t : t + 224, l : l + 224] for c in range(5) for t, l in offsets]
    return torch.stack(out)


def test_real_avi_metadata_and_decode() -> None:
    path = realdata("video/mmaction2/test.avi")
    members, meta = prepare_video(path)
    assert members == {"avi": path.read_bytes()}
    assert meta["fps"] == 25.0 and (meta["width"], meta["height"]) == (320, 240)
    assert meta["num_frames"] == 164 and meta["duration"] == pytest.approx(6.6, abs=0.05)
    x = decode_video(members["avi"])
    ref = _reference_decode(path, [0, 28, 56, 84, 112])
    torch.testing.assert_close(x, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name,fps,frames", [("6543449.mp4", 25.0, 175), ("1020335461.mp4", 29.97, 161)])
def test_real_webvid_mp4(name: str, fps: float, frames: int) -> None:
    path = realdata(f"webvid/data/2M_val/{name}")
    members, meta = prepare_video(path)
    assert members == {"mp4": path.read_bytes()}
    assert meta["fps"] == pytest.approx(fps, abs=0.01) and meta["num_frames"] == frames
    assert (meta["width"], meta["height"]) == (596, 336)
    x = decode_video(members["mp4"])
    assert x.shape == (15, 3, 224, 224) and torch.isfinite(x).all()
    torch.testing.assert_close(x, _reference_decode(path, rule_indices(frames, meta["fps"])), atol=1e-5, rtol=0)


# ---------------------------------------------------------------- rejects


def test_corrupt_video_bytes_are_rejected(tmp_path: Path) -> None:
    data = grey_video(tmp_path / "g.mp4", frame_levels(20), fps=10).read_bytes()
    for bad in (b"not a video" * 50, data[: len(data) // 2], data[:100]):
        with pytest.raises(CodecError) as err:
            prepare_video(bad, ext="mp4")
        assert err.value.reason == "undecodable video"
        assert "0x" not in err.value.detail
        with pytest.raises(CodecError):
            decode_video(bad)
    with pytest.raises(CodecError) as err:
        prepare_video(b"", ext="mp4")
    assert err.value.reason == "empty video"


def test_unsupported_extension_and_bytes_without_extension() -> None:
    with pytest.raises(CodecError) as err:
        prepare_video(b"xx", ext="gif")
    assert err.value.reason == "unsupported video format"
    with pytest.raises(ValueError):
        prepare_video(b"xx")


def test_truncated_avi_is_rejected_without_crashing(tmp_path: Path) -> None:
    """decord 0.6 segfaults opening an index-less AVI from memory; run in a child so a regression cannot take
    the test session down with it."""
    src = grey_video(tmp_path / "g.avi", frame_levels(40), fps=10, codec="mpeg4")
    script = textwrap.dedent(f"""
        from onellm_data.codecs.video import decode_video, prepare_video
        from onellm_data.errors import CodecError
        data = open({str(src)!r}, "rb").read()
        for cut in (len(data) // 10, len(data) // 2, len(data) * 9 // 10):
            try:
                prepare_video(data[:cut], ext="avi")
                print("accepted", cut)
            except CodecError as exc:
                print("rejected", exc.reason, "|", exc.detail)
            try:
                decode_video(data[:cut])  # loading what is left must not crash either
            except CodecError:
                pass
        print("done")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[-1] == "done"
    assert len(lines) == 4 and all(line.startswith("rejected ") for line in lines[:-1]), lines
    truncated = [line for line in lines if line.startswith("rejected truncated video | ")]
    assert len(truncated) >= 2 and all(line.endswith(" of 40 frames readable") for line in truncated), lines
    assert "/tmp" not in out.stdout and "onellm-video-" not in out.stdout  # no temporary path in a detail
