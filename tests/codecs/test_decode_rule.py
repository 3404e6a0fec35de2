"""The one conversion rule (codecs/check.py): a sample enters a shard only if the load-side decode succeeds on its
members with the exact shape and finite values. Each bad file kind goes through the generic ``jsonl`` converter and
through ``import-onellm`` (the CLI, a real process) and must end in rejects.parquet with the decode's reason,
while the good samples beside it convert."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from onellm_data.codecs import check_sample, decode
from onellm_data.codecs.check import proven
from onellm_data.converters import make_converter
from onellm_data.errors import CodecError
from onellm_data.pipeline import ShardSettings, run_conversion
from tests.codecs.media import frame_levels, grey_video, need_ffmpeg
from tests.conftest import make_jpeg


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def wav(x: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def tone(seconds: float = 1.0) -> np.ndarray:
    return (0.3 * np.sin(np.arange(int(16000 * seconds)) * 0.07)).astype(np.float32)


def bad_files(tmp: Path) -> dict[str, tuple[str, str, bytes, str]]:
    """name -> (modality, member, bytes, the reject reason the decode gives)."""
    ffmpeg = need_ffmpeg()
    mp4 = grey_video(tmp / "good.mp4", frame_levels(40), fps=10).read_bytes()
    webm = tmp / "audio_only.webm"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                    "-c:a", "libopus", str(webm)], check=True)
    huge = tone()
    huge[100] = 1e30  # finite in float32, but its power overflows: the features are inf
    rng = np.random.default_rng(0)
    cloud = rng.random((8192, 6)).astype(np.float32)
    cloud[17, 1] = np.nan
    imu = rng.normal(size=(6, 400)).astype(np.float32)
    imu[3, 200] = np.nan
    return {
        "empty_wav": ("audio", "wav", b"", "empty audio"),
        "no_samples_wav": ("audio", "wav", wav(np.zeros(0, np.float32)), "audio has no samples"),
        "huge_wav": ("audio", "wav", wav(huge), "decoded audio has non-finite values"),
        "truncated_mp4": ("video", "mp4", mp4[: len(mp4) * 6 // 10], "undecodable video"),
        "audio_only_webm": ("video", "webm", webm.read_bytes(), "file has no video stream"),
        "nan_cloud": ("point", "npy", npy(cloud), "decoded point has non-finite values"),
        "nan_imu": ("imu", "npy", npy(imu), "decoded imu has non-finite values"),
    }


def good_files(tmp: Path) -> dict[str, tuple[str, str, bytes]]:
    return {
        "good_jpg": ("image", "jpg", make_jpeg(1, (96, 80))),
        "good_wav": ("audio", "wav", wav(tone())),
        "good_mp4": ("video", "mp4", grey_video(tmp / "ok.mp4", frame_levels(30), fps=10).read_bytes()),
        "good_cloud": ("point", "npy", npy(np.random.default_rng(1).random((8192, 6)).astype(np.float32))),
    }


def turns(modality: str) -> list[dict[str, str]]:
    return [{"from": "human", "value": f"<{modality}>\nWhat is it?"}, {"from": "gpt", "value": "A test."}]


def rejects(corpus: Path) -> dict[str, str]:
    table = pd.read_parquet(corpus / "index" / "rejects.parquet")
    return dict(zip(table.source_id, table.reason))


def samples(corpus: Path) -> set[str]:
    return set(pd.read_parquet(corpus / "index" / "samples.parquet").source_id)


def test_check_sample_gives_the_decode_reason_for_each_bad_kind(tmp_path: Path) -> None:
    for name, (modality, member, data, reason) in bad_files(tmp_path).items():
        failure = check_sample(modality, {member: data})
        assert failure is not None and failure.reason == reason, name
    for name, (modality, member, data) in good_files(tmp_path).items():
        assert check_sample(modality, {member: data}) is None, name
    assert check_sample("text", {}) is None


def test_jsonl_converter_rejects_every_bad_kind_and_keeps_the_good(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "media").mkdir(parents=True)
    bad, good = bad_files(tmp_path), good_files(tmp_path)
    lines = []
    for name, (modality, member, data, *_) in {**bad, **good}.items():
        (raw / "media" / f"{name}.{member}").write_bytes(data)
        lines.append({"id": name, "modality": modality, "media": {member: f"media/{name}.{member}"},
                      "conversations": turns(modality)})
    (raw / "samples.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    corpus = tmp_path / "corpus"
    run_conversion(make_converter("jsonl", raw), corpus, ShardSettings(partition_size=4))
    got = rejects(corpus)
    assert got.pop("empty_wav") in ("empty audio", "empty media member")  # the schema may see it first
    assert got == {name: reason for name, (*_, reason) in bad.items() if name != "empty_wav"}
    assert samples(corpus) == set(good)


def test_import_onellm_rejects_bad_media_with_the_decode_reason(tmp_path: Path) -> None:
    """OneLLM's released layout (audio/, video/, point/ JSONs with media paths under "image"), run through the
    ``import-onellm`` command in its own process."""
    bad, good = bad_files(tmp_path), good_files(tmp_path)
    release, media = tmp_path / "release", tmp_path / "media"
    files = {"audio": "audiocap_train", "video": "msrvtt_cap_trainval", "point": "pointllm_70k"}
    items: dict[str, list[dict]] = {m: [] for m in files}
    expected_rejects, expected_samples = {}, set()
    # Good items three times over (distinct files): the command fails a run whose rejects are the majority.
    entries = {**bad, **{f"{name}{copy}": entry for name, entry in good.items() for copy in range(3)}}
    for name, (modality, member, data, *reason) in entries.items():
        if modality not in files:
            continue
        rel = f"{modality}/{name}_8192.{member}" if modality == "point" else f"{modality}/{name}.{member}"
        (media / rel).parent.mkdir(parents=True, exist_ok=True)
        (media / rel).write_bytes(data)
        source_id = f"{files[modality]}-{len(items[modality])}"
        items[modality].append({"id": name, "image": rel, "conversations": turns("image")})
        if reason:
            expected_rejects[source_id] = reason[0]
        else:
            expected_samples.add(source_id)
    for modality, stem in files.items():
        (release / modality).mkdir(parents=True)
        (release / modality / f"{stem}.json").write_text(json.dumps(items[modality]))
    corpus = tmp_path / "corpus"
    run = subprocess.run([sys.executable, "-m", "onellm_data.cli", "import-onellm", str(release), "--media-root",
                          str(media), "--out", str(corpus), "--workers", "1"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    got = rejects(corpus)
    assert set(got) == set(expected_rejects)
    for source_id, reason in got.items():  # the codec's prepare_* may name a non-finite cloud first
        assert reason == expected_rejects[source_id] or (
            reason.endswith("non-finite values") and expected_rejects[source_id].endswith("non-finite values"))
    assert samples(corpus) == expected_samples


def test_a_proof_is_bound_to_the_member_objects() -> None:
    """prepare_* records its own decode; the check reuses it for those very objects and decodes anything else,
    even bytes of equal content."""
    garbage = b"not an image at all" * 10
    proven("image", {"jpg": garbage}, decode("image", {"jpg": make_jpeg(3, (64, 64))}))
    assert check_sample("image", {"jpg": garbage}) is None  # trusted: that object's decode was recorded
    assert check_sample("image", {"jpg": garbage}).reason == "undecodable image"  # the proof is used up
    failure = check_sample("image", {"jpg": bytes(bytearray(garbage))})  # equal bytes, another object
    assert failure is not None and failure.reason == "undecodable image"
    with pytest.raises(CodecError) as err:
        proven("image", {"jpg": b"x"}, torch.zeros(3, 10, 10))
    assert err.value.reason == "decoded image has the wrong shape"
