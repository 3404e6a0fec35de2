"""Per modality: conversion side (``prepare_*``: validate, normalise, extract metadata) and load side (``decode``
to OneLLM's tensor) in samples/s on one core, each against the bare library call doing the same core work, in the
same run. Goal: load side within 10 % of the bare call (ratio ≥ 0.9).

Bare calls: image PIL decode + resize + centre crop + CLIP normalisation in numpy; video decord ``get_batch``
of the same 5 frames (no resize or crops); audio soundfile read + kaldi-native-fbank; point ``np.load`` +
pc_norm in numpy (conversion: open3d's farthest-point down-sampling); depth the image bare call on both images;
IMU and fMRI ``np.load`` (+ mean for fMRI).

    python benchmarks/bench_codec_sides.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
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


def rate(fn: Callable[[], object], repeats: int, inner: int) -> float:
    """Best samples/s over ``repeats`` timings of ``inner`` calls."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return 1.0 / best


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


def cases(tmp: Path) -> list[tuple[str, Callable, Callable, str, Callable, Callable, int]]:
    """(modality, ours conversion, bare conversion, bare name, ours load, bare load, inner loop count)."""
    from onellm_data import codecs
    from onellm_data.codecs import audio, depth, fmri, image, imu, point, video

    out = []
    img = jpeg(640, 480)
    members = {"jpg": img}
    out.append(("image", lambda: image.prepare_image(img), lambda: Image.open(io.BytesIO(img)).load(),
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

    def decord_open() -> None:
        r = video.open_video(vdata)
        r[0].asnumpy()
        r[len(r) - 1].asnumpy()

    out.append(("video", lambda: video.prepare_video(vdata, ext="mp4"), decord_open, "decord get_batch, same frames",
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

    out.append(("audio", lambda: audio.prepare_audio(wav, ext="wav"), lambda: sf.read(io.BytesIO(wav)),
                "soundfile + kaldi-native-fbank", lambda: codecs.decode("audio", {"wav": wav}), knf, 10))

    rng = np.random.default_rng(0)
    cloud = np.concatenate([rng.normal(size=(16384, 3)), rng.random((16384, 3))], axis=1)
    pdata = npy(point.normalise_points(cloud)[0])

    def open3d_fps() -> None:
        import open3d as o3d

        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud[:, :3]))
        pcd.farthest_point_down_sample(8192)

    out.append(("point", lambda: point.prepare_point(cloud), open3d_fps, "np.load + pc_norm in numpy (conversion: open3d FPS)",
                lambda: codecs.decode("point", {"npy": pdata}), lambda: np_pc_norm(pdata), 1))

    dmap = np.clip(rng.normal(3000, 500, (480, 640)), 0, 65535).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(dmap).save(buf, format="PNG")
    dpng = buf.getvalue()
    out.append(("depth", lambda: depth.prepare_map_pair(img, dpng, "depth"),
                lambda: (Image.open(io.BytesIO(img)).load(), Image.open(io.BytesIO(dpng)).load()),
                "PIL decode + resize + crop, both images",
                lambda: codecs.decode("depth", {"jpg": img, "depth.png": dpng}),
                lambda: (pil_resize_crop(img), pil_resize_crop(dpng)), 10))

    ts = np.arange(200 * 60) * 5.0
    rec = imu.ImuRecording(rng.normal(size=(6, ts.size)).astype(np.float32), ts, 200.0)
    idata = imu.prepare_imu_window(rec, 10.0, 12.0)[0]["npy"]
    out.append(("imu", lambda: imu.prepare_imu_window(rec, 10.0, 12.0), lambda: npy(rec.data[:, 2000:2400].copy()),
                "np slice + save (load: np.load)", lambda: codecs.decode("imu", {"npy": idata}),
                lambda: np.load(io.BytesIO(idata)), 200))

    vox = rng.normal(size=(3, 15724)).astype(np.float16)
    fdata = npy(vox)
    out.append(("fmri", lambda: fmri.prepare_fmri(vox), lambda: npy(vox), "np.save (load: np.load + mean)",
                lambda: codecs.decode("fmri", {"npy": fdata}),
                lambda: np.load(io.BytesIO(fdata)).astype(np.float32).mean(0, keepdims=True), 200))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    print("\nsamples/s on one core (torch threads 1), best of", a.repeats, "\n")
    print("| modality | conversion: ours | bare | ours ÷ bare | load: ours | bare | ours ÷ bare | bare call |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, conv, conv_bare, bare_name, load, load_bare, inner in cases(Path(tmp)):
            c, cb = rate(conv, a.repeats, inner), rate(conv_bare, a.repeats, inner)
            lo, lb = rate(load, a.repeats, inner), rate(load_bare, a.repeats, inner)
            print(f"| {name} | {c:,.1f} | {cb:,.1f} | {c / cb:.2f} | {lo:,.1f} | {lb:,.1f} | {lo / lb:.2f} | {bare_name} |")


if __name__ == "__main__":
    main()
