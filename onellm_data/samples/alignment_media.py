"""Tiny raw trees of the image, video and audio alignment sources, in their official layouts.

Each generator writes a handful of good items plus a few bad ones (not downloaded, empty or non-string
caption, undecodable media, duplicate id). ``EXPECTED`` gives the counts a conversion of each tree must give.
Media are made with real codecs (PIL JPEG/PNG, ffmpeg H.264 mp4, libsndfile flac) and are deterministic.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

# Counts a conversion of each tree gives: samples and rejects by reason.
EXPECTED: dict[str, dict[str, object]] = {
    "laion": {"samples": 5, "rejects": {"missing media file": 1, "empty caption": 1, "undecodable image": 1}},
    "cc3m": {"samples": 4, "rejects": {"missing media file": 1, "empty caption": 1, "malformed annotation row": 1}},
    "image_folder": {"samples": 3, "rejects": {"missing caption": 1, "empty caption": 1, "undecodable image": 1}},
    "webvid": {"samples": 2, "rejects": {"missing media file": 1, "empty caption": 1, "undecodable video": 1}},
    "wavcaps": {"samples": 4, "rejects": {"missing media file": 1, "caption is not a string": 1, "duplicate id": 1,
                                          "undecodable audio": 1}},
}
CORRUPT = b"\x00not a real media file\xff" * 8


def image_bytes(seed: int, fmt: str = "JPEG", size: tuple[int, int] = (48, 32)) -> bytes:
    """A small deterministic picture (smooth gradient + seeded noise) encoded by PIL."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    base = np.stack([x * 255 // size[0], y * 255 // size[1], np.full_like(x, (seed * 40) % 256)], -1)
    arr = np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def write_img2dataset(out: Path, rows: Sequence[tuple[str, str]], fmt: str = "webdataset",
                      per_shard: int = 10_000, missing: frozenset[int] = frozenset(),
                      corrupt: frozenset[int] = frozenset()) -> None:
    """img2dataset's output for ``rows`` (url, caption): ``00000.tar`` (webdataset) or ``00000/`` (files) with
    ``{key}.jpg/.txt/.json``, plus its per-shard parquet and stats. Rows in ``missing`` failed to download."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    oom = math.ceil(math.log10(per_shard))
    for shard in range(math.ceil(len(rows) / per_shard)):
        meta_rows, members = [], []
        for i in range(per_shard):
            pos = shard * per_shard + i
            if pos >= len(rows):
                break
            url, caption = rows[pos]
            key = f"{10**oom * shard + i:0{5 + oom}d}"
            ok = pos not in missing
            status = {"url": url, "caption": caption, "key": key, "status": "success" if ok else "failed_to_download",
                      "error_message": None if ok else "HTTP Error 404: Not Found", "width": 48 if ok else None,
                      "height": 32 if ok else None}
            meta_rows.append(status)
            if ok:
                jpg = CORRUPT if pos in corrupt else image_bytes(pos)
                members += [(f"{key}.jpg", jpg), (f"{key}.txt", caption.encode()),
                            (f"{key}.json", json.dumps(status).encode())]
        name = f"{shard:05d}"
        if fmt == "webdataset":
            with tarfile.open(out / f"{name}.tar", "w", format=tarfile.USTAR_FORMAT) as tar:
                for member, data in members:
                    info = tarfile.TarInfo(member)
                    info.size, info.mtime = len(data), 0
                    tar.addfile(info, io.BytesIO(data))
        else:
            (out / name).mkdir(exist_ok=True)
            for member, data in members:
                (out / name / member).write_bytes(data)
        pq.write_table(pa.Table.from_pylist(meta_rows), out / f"{name}.parquet")
        ok_count = sum(r["status"] == "success" for r in meta_rows)
        (out / f"{name}_stats.json").write_text(json.dumps({"count": len(meta_rows), "successes": ok_count}))


LAION_ROWS = [
    ("https://example.com/a.jpg", "A red bicycle leaning against a brick wall"),
    ("https://example.com/b.jpg", "Sunset over the harbour, boats at anchor"),
    ("https://example.com/c.jpg", "  "),  # empty caption
    ("https://example.com/d.jpg", "Bowl of ramen with a soft-boiled egg"),
    ("https://example.com/e.jpg", "Not downloaded: 404"),  # missing
    ("https://example.com/f.jpg", "Corrupt download"),  # undecodable
    ("https://example.com/g.jpg", "Snowy mountain ridge at dawn"),
    ("https://example.com/h.jpg", "Hand-drawn map of an island"),
]


def write_laion(target: Path, per_shard: int = 10_000, fmt: str = "webdataset") -> None:
    """A LAION-400M style URL-list parquet (small row groups) + img2dataset output under ``images/``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "SAMPLE_ID": list(range(1000, 1000 + len(LAION_ROWS))),
        "URL": [u for u, _ in LAION_ROWS],
        "TEXT": [t for _, t in LAION_ROWS],
        "similarity": [0.31 + i / 100 for i in range(len(LAION_ROWS))],
    })
    pq.write_table(table, target / "part-00000-laion400m.parquet", row_group_size=3)
    write_img2dataset(target / "images", LAION_ROWS, fmt, per_shard, missing=frozenset({4}), corrupt=frozenset({5}))


CC3M_ROWS = [
    ("a very typical bus station", "http://cc.example/1.jpg"),
    ("sierra leone \"lion\" on a flag", "http://cc.example/2.jpg"),
    ("", "http://cc.example/3.jpg"),  # empty caption
    ("actor attends the premiere", "http://cc.example/4.jpg"),  # not downloaded
    ("person walking on the beach", "http://cc.example/5.jpg"),
    ("illustration of a cartoon cat", "http://cc.example/6.jpg"),
]


def write_cc3m(target: Path) -> None:
    """``Train_GCC-training.tsv`` (caption<TAB>url, no header, one malformed line) + img2dataset ``files``."""
    lines = [f"{c}\t{u}" for c, u in CC3M_ROWS[:5]] + ["a line without its url"] + [
        f"{c}\t{u}" for c, u in CC3M_ROWS[5:]
    ]
    (target / "Train_GCC-training.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    listed = [(u, c) for c, u in CC3M_ROWS[:5]] + [("", "")] + [(u, c) for c, u in CC3M_ROWS[5:]]
    write_img2dataset(target / "images", listed, "files", missing=frozenset({3, 5}))


def write_image_folder(target: Path) -> None:
    """``x.jpg`` + ``x.txt`` pairs in nested folders, a PNG, and bad items."""
    (target / "beach").mkdir(parents=True, exist_ok=True)
    files = {
        "beach/shell.jpg": (image_bytes(11), "A spiral shell on wet sand."),
        "beach/waves.png": (image_bytes(12, "PNG"), "Waves breaking on rocks."),
        "cat.jpg": (image_bytes(13), "A grey cat asleep on a sofa.\n"),
        "nocaption.jpg": (image_bytes(14), None),
        "blank.jpg": (image_bytes(15), "\n  \n"),
        "broken.jpg": (CORRUPT, "A file that is not an image."),
    }
    for rel, (data, caption) in files.items():
        (target / rel).write_bytes(data)
        if caption is not None:
            (target / rel).with_suffix(".txt").write_text(caption, encoding="utf-8")


def make_video(path: Path, seconds: int = 2, pattern: str = "testsrc", size: str = "64x48", fps: int = 10) -> None:
    """A small H.264 mp4 from ffmpeg's lavfi test source (bit-exact flags keep it deterministic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{pattern}=duration={seconds}:size={size}:rate={fps}",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-threads", "1",
           "-fflags", "+bitexact", "-flags", "+bitexact", "-map_metadata", "-1", str(path)]
    subprocess.run(cmd, check=True)


WEBVID_ROWS = [
    ("1000001", "Aerial view of a test pattern over the city", "000001_000050", "PT00H00M02S", "testsrc"),
    ("1000002", "Colour bars slowly drifting, close up", "000001_000050", "PT00H00M02S", "smptebars"),
    ("1000003", "Time lapse of clouds (not downloaded)", "000051_000100", "PT00H00M12S", None),
    ("1000004", "", "000051_000100", "PT00H00M05S", "testsrc"),
    ("1000005", "A corrupt download", "000051_000100", "PT00H00M07S", "corrupt"),
]


def write_webvid(target: Path) -> None:
    """``results_2M_val.csv`` in WebVid's columns + ``videos/{page_dir}/{videoid}.mp4``."""
    with open(target / "results_2M_val.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["videoid", "name", "page_idx", "page_dir", "duration", "contentUrl"])
        for i, (vid, name, page_dir, duration, _) in enumerate(WEBVID_ROWS):
            writer.writerow([vid, name, 1 + i, page_dir, duration, f"https://ak.picdn.net/videos/{vid}/preview.mp4"])
    for vid, _, page_dir, _, pattern in WEBVID_ROWS:
        path = target / "videos" / page_dir / f"{vid}.mp4"
        if pattern == "corrupt":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(CORRUPT)
        elif pattern is not None and vid != "1000004":
            make_video(path, pattern=pattern)


def tone(path: Path, seconds: float, freq: float, rate: int = 16000) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, format="FLAC")


def write_wavcaps(target: Path) -> None:
    """Two WavCaps parts (SoundBible, AudioSet_SL) under ``json_files/`` with flac in per-part folders."""
    parts = {
        "SoundBible/sb_final.json": [
            {"title": "Bell", "description": "A bell.", "author": "x", "href": "1-Bell.html",
             "caption": "A bell is ringing.", "id": "101", "duration": 1, "audio": "wav_path",
             "download_link": "http://soundbible.com/grab.php?id=101&type=wav"},
            {"title": "Rain", "caption": "Rain falls steadily.", "id": "102", "duration": 1.5, "audio": "wav_path"},
            {"title": "Nothing", "caption": "Audio never downloaded.", "id": "103", "duration": 2.0, "audio": "wav_path"},
            {"title": "Number", "caption": 42, "id": "104", "duration": 1.0, "audio": "wav_path"},
            {"title": "Again", "caption": "The bell again.", "id": "101", "duration": 1, "audio": "wav_path"},
        ],
        "AudioSet_SL/as_final.json": [
            {"id": "Yabc-DEF_123.wav", "caption": "A dog barks twice.", "audio": "wav_path", "duration": 1.0},
            {"id": "Yzz9_corrupt.wav", "caption": "Corrupted flac.", "audio": "wav_path", "duration": 1.0},
            {"id": "Ymotor_00042.wav", "caption": "An engine idles.", "audio": "wav_path", "duration": 1.25},
        ],
    }
    for rel, items in parts.items():
        path = target / "json_files" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"num_captions_per_audio": 1, "data": items}))
    tone(target / "SoundBible_flac" / "101.flac", 1.0, 440)
    tone(target / "SoundBible_flac" / "102.flac", 1.5, 220)
    tone(target / "SoundBible_flac" / "104.flac", 1.0, 330)
    tone(target / "AudioSet_SL" / "Yabc-DEF_123.flac", 1.0, 550)
    (target / "AudioSet_SL" / "Yzz9_corrupt.flac").write_bytes(CORRUPT)
    tone(target / "AudioSet_SL" / "Ymotor_00042.flac", 1.25, 120)


SOURCES: dict[str, Callable[[Path], None]] = {
    "laion": write_laion,
    "cc3m": write_cc3m,
    "image_folder": write_image_folder,
    "webvid": write_webvid,
    "wavcaps": write_wavcaps,
}
