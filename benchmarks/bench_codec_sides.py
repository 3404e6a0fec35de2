"""Per modality: conversion side (``prepare_*``: validate, normalise, extract metadata) and load side (``decode``
to OneLLM's tensor) in samples/s on one core, each against the bare library call doing the same core work, in the
same run. Goal: load side within 10 % of the bare call (ratio ≥ 0.9).

The conversion side includes the decode check every sample passes before it enters a shard
(``codecs.check_sample`` on the prepared members, as the pipeline runs it). Image, video and audio compare it with
the bare call of the load side, the decode the loader will do anyway: validation must not cost more than that
(goal: ratio ≥ 0.8).

Bare calls: image PIL decode + resize + centre crop + CLIP normalisation in numpy; video decord open +
``get_batch`` of the same 5 frames (no resize or crops); audio soundfile read + kaldi-native-fbank; point ``np.load`` +
pc_norm in numpy (conversion: open3d's farthest-point down-sampling); depth the image bare call on both images
(both sides); IMU ``np.load`` (conversion: ``np.interp`` of each channel onto the window's 200 Hz grid +
``np.save``); fMRI ``np.load`` + mean (conversion: ``np.load`` of MindEye's per-trial file + ``np.save``).

    python benchmarks/bench_codec_sides.py [--repeats 9] [--only image,video,audio]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from PIL import Image

torch.set_num_threads(1)


def timings(fns: list[Callable[[], object]], repeats: int, inner: int) -> list[list[float]]:
    """CPU seconds per call of each function, ``repeats`` times over ``inner`` calls, the functions taking turns
    within each repeat. CPU time of this process (all its threads), not wall time: on a machine shared with other
    jobs wall-clock ratios swing by 2x from one run to the next."""
    for fn in fns:
        fn()
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.process_time()
            for _ in range(inner):
                fn()
            out[i].append((time.process_time() - t0) / inner)
    return out


def paired_ratio(ours: list[float], bare: list[float]) -> float:
    """Median over repeats of bare time ÷ our time, each pair measured back to back (so under the same load)."""
    return statistics.median(b / o for o, b in zip(ours, bare))


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def jpeg(w: int, h: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def pil_resize_crop(data: bytes) -> np.ndarray:
    """The same work as the eval transform: decode, resize, crop, scale, normalise, channels first."""
    img = Image.open(io.BytesIO(data))
    img = (img.point(lambda v: v / 257) if img.mode.startswith("I") else img).convert("RGB")
    scale = 224 / min(img.size)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)
    left, top = (img.width - 224) // 2, (img.height - 224) // 2
    arr = np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32) / 255.0
    return ((arr - MEAN) / STD).transpose(2, 0, 1)


def np_pc_norm(data: bytes) -> np.ndarray:
    arr = np.load(io.BytesIO(data)).astype(np.float32)
    xyz = arr[:, :3] - arr[:, :3].mean(0)
    return np.concatenate([xyz / np.linalg.norm(xyz, axis=1).max(), arr[:, 3:]], axis=1)


def converted(prepare: Callable[[], tuple[dict[str, bytes], dict]], modality: str) -> Callable[[], None]:
    """The whole conversion side of one sample: ``prepare_*``, then the decode check the pipeline applies."""
    from onellm_data.codecs import check_sample

    def run() -> None:
        members = prepare()[0]
        if check_sample(modality, members) is not None:
            raise RuntimeError(f"benchmark {modality} sample fails the decode check")

    return run


def cases(tmp: Path) -> list[tuple[str, Callable, Callable, str, Callable, Callable, int]]:
    """(modality, ours conversion, bare conversion, bare name, ours load, bare load, inner loop count)."""
    from onellm_data import codecs
    from onellm_data.codecs import audio, depth, fmri, image, imu, point, video

    out = []
    img = jpeg(640, 480)
    members = {"jpg": img}
    out.append(("image", converted(lambda: image.prepare_image(img), "image"), lambda: pil_resize_crop(img),
                "PIL decode + resize + crop", lambda: codecs.decode("image", members), lambda: pil_resize_crop(img), 20))

    mp4 = tmp / "v.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30:duration=10",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", str(mp4)], check=True)
    vdata = mp4.read_bytes()
    reader = video.open_video(vdata)
    frames = video.clip_frame_indices(len(reader), float(reader.get_avg_fps()))
    del reader

    def decord_batch() -> np.ndarray:
        return video.open_video(vdata).get_batch(frames).asnumpy()

    out.append(("video", converted(lambda: video.prepare_video(vdata, ext="mp4"), "video"), decord_batch,
                "decord get_batch, same frames",
                lambda: codecs.decode("video", {"mp4": vdata}), decord_batch, 3))

    wav_buf = io.BytesIO()
    t = np.arange(16000 * 10) / 16000
    sf.write(wav_buf, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, format="WAV")
    wav = wav_buf.getvalue()

    def knf() -> np.ndarray:
        import kaldi_native_fbank as knf_mod

        wave, sr = sf.read(io.BytesIO(wav), dtype="float32")
        opts = knf_mod.FbankOptions()
        opts.frame_opts.dither = 0.0
        opts.frame_opts.window_type = "hanning"
        opts.mel_opts.num_bins = 128
        opts.mel_opts.low_freq = 25.0
        fb = knf_mod.OnlineFbank(opts)
        fb.accept_waveform(sr, (wave * 32768).tolist())
        fb.input_finished()
        return np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)])

    out.append(("audio", converted(lambda: audio.prepare_audio(wav, ext="wav"), "audio"), knf,
                "soundfile + kaldi-native-fbank", lambda: codecs.decode("audio", {"wav": wav}), knf, 10))

    rng = np.random.default_rng(0)
    cloud = np.concatenate([rng.normal(size=(16384, 3)), rng.random((16384, 3))], axis=1)
    pdata = npy(point.normalise_points(cloud)[0])

    def open3d_fps() -> None:
        import open3d as o3d

        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud[:, :3]))
        pcd.farthest_point_down_sample(8192)

    out.append(("point", converted(lambda: point.prepare_point(cloud), "point"), open3d_fps, "np.load + pc_norm in numpy (conversion: open3d FPS)",
                lambda: codecs.decode("point", {"npy": pdata}), lambda: np_pc_norm(pdata), 1))

    dmap = np.clip(rng.normal(3000, 500, (480, 640)), 0, 65535).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(dmap).save(buf, format="PNG")
    dpng = buf.getvalue()
    out.append(("depth", converted(lambda: depth.prepare_map_pair(img, dpng, "depth"), "depth"),
                lambda: (pil_resize_crop(img), pil_resize_crop(dpng)),
                "PIL decode + resize + crop, both images",
                lambda: codecs.decode("depth", {"jpg": img, "depth.png": dpng}),
                lambda: (pil_resize_crop(img), pil_resize_crop(dpng)), 10))

    ts = 2.5 + np.arange(200 * 60) * 5.0  # imu2clip's 200 Hz arrays start anywhere: the grid falls between samples
    rec = imu.ImuRecording(rng.normal(size=(6, ts.size)).astype(np.float32), ts, 200.0)
    idata = imu.prepare_imu_window(rec, 10.0, 12.0)[0]["npy"]

    def imu_interp() -> bytes:
        lo, hi = np.searchsorted(ts, (10000.0, 12000.0))
        grid = 10000.0 + 5.0 * np.arange(400)
        near = slice(lo - 1, hi + 1)
        return npy(np.stack([np.interp(grid, ts[near], rec.data[c, near]) for c in range(6)]).astype(np.float32))

    out.append(("imu", converted(lambda: imu.prepare_imu_window(rec, 10.0, 12.0), "imu"), imu_interp,
                "np.interp onto the 200 Hz grid + np.save (load: np.load)", lambda: codecs.decode("imu", {"npy": idata}),
                lambda: np.load(io.BytesIO(idata)), 200))

    vox = rng.normal(size=(3, 15724)).astype(np.float16)
    fdata = npy(vox)
    trial = tmp / "sample000000498.npy"  # MindEye's per-trial file
    trial.write_bytes(fdata)
    out.append(("fmri", converted(lambda: fmri.prepare_fmri(trial), "fmri"), lambda: npy(np.load(trial)),
                "np.load + np.save (load: np.load + mean)",
                lambda: codecs.decode("fmri", {"npy": fdata}),
                lambda: np.load(io.BytesIO(fdata)).astype(np.float32).mean(0, keepdims=True), 200))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--only", default="", help="comma-separated modalities (default: all)")
    a = p.parse_args()
    only = set(filter(None, a.only.split(",")))
    print("\nsamples per CPU-second (torch threads 1), best of", a.repeats, "; ratios: median of paired repeats\n")
    print("| modality | conversion: ours | bare | ours ÷ bare | load: ours | bare | ours ÷ bare | bare call |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, conv, conv_bare, bare_name, load, load_bare, inner in cases(Path(tmp)):
            if only and name not in only:
                continue
            c, cb, lo, lb = timings([conv, conv_bare, load, load_bare], a.repeats, inner)
            rate = [1.0 / min(t) for t in (c, cb, lo, lb)]
            print(f"| {name} | {rate[0]:,.1f} | {rate[1]:,.1f} | {paired_ratio(c, cb):.2f} | {rate[2]:,.1f} | "
                  f"{rate[3]:,.1f} | {paired_ratio(lo, lb):.2f} | {bare_name} |")


if __name__ == "__main__":
    main()
