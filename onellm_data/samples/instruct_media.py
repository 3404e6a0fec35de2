"""Tiny raw trees of the image, video, audio and text instruction sources and of OneLLM's released layout.

Each tree follows its source's published layout and holds a few good items plus bad ones (missing media, malformed
rows, unknown id references, duplicate ids, empty captions, roles out of order, undecodable media). Media come
from real codecs: PIL JPEG/PNG, ffmpeg H.264 mp4 (lavfi test sources), libsndfile wav/flac, espeak-ng speech
when installed. ``EXPECTED`` gives what a conversion of each tree must produce. Deterministic throughout.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np

from onellm_data.samples.alignment_media import CORRUPT, image_bytes, make_video

EXPECTED: dict[str, dict[str, object]] = {
    "llava_mix665k": {"samples": 6, "modalities": {"image": 4, "text": 2},
                      "rejects": {"missing media file": 1, "roles out of order": 1, "duplicate id": 1,
                                  "malformed annotation row": 1, "undecodable image": 1, "empty turn": 1}},
    "coco_captions": {"samples": 4, "rejects": {"empty caption": 1, "unknown id reference": 1, "missing media file": 1,
                                                "duplicate id": 1, "malformed annotation row": 1}},
    "msrvtt_captions": {"samples": 4, "rejects": {"missing media file": 1, "unknown id reference": 1,
                                                  "empty caption": 1, "malformed annotation row": 1,
                                                  "undecodable video": 1}},
    "msrvtt_qa": {"samples": 4, "rejects": {"missing media file": 1, "malformed annotation row": 1, "empty answer": 1,
                                            "duplicate id": 1, "empty question": 1}},
    "multis_video": {"samples": 4, "rejects": {"missing media file": 1, "roles out of order": 1,
                                               "malformed annotation row": 1, "duplicate id": 1}},
    "multis_audio": {"samples": 3, "rejects": {"missing media file": 1, "undecodable audio": 1,
                                               "malformed annotation row": 1}},
    "audiocaps": {"samples": 4, "rejects": {"missing media file": 1, "empty caption": 1,
                                            "malformed annotation row": 1}},
    "onellm_release": {"samples": 10, "modalities": {"image": 2, "text": 1, "video": 1, "audio": 1, "point": 1,
                                                     "depth": 1, "normal": 1, "imu": 1, "fmri": 1},
                       "rejects": {"missing media file": 1, "roles out of order": 1}},
}


def _json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def _bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _turns(*values: str) -> list[dict[str, str]]:
    return [{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(values)]


def _videos(paths: list[Path]) -> None:
    """The first path gets ffmpeg's testsrc, the second smptebars; further paths copy those (one encode each)."""
    made: list[Path] = []
    for i, path in enumerate(paths):
        if i < 2:
            make_video(path, pattern=("testsrc", "smptebars")[i])
            made.append(path)
        else:
            _bytes(path, made[i % 2].read_bytes())


def tone(path: Path, seconds: float, freq: float, rate: int = 16000) -> None:
    """A sine tone; the container follows the suffix (wav or flac)."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def speech(path: Path, text: str) -> None:
    """espeak-ng speech when installed (a real spoken clip), else a tone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("espeak-ng"):
        done = subprocess.run(["espeak-ng", "-w", str(path), text], capture_output=True)
        if done.returncode == 0 and path.is_file():
            return
    tone(path, 1.0, 330.0)


def llava_mix665k(target: Path) -> None:
    """``llava_v1_5_mix665k.json`` + ``coco/train2017``, ``gqa/images``, ``ocr_vqa/images`` (a .png named .jpg)."""
    first = {"id": "000000000001", "image": "coco/train2017/000000000001.jpg",
             "conversations": _turns("<image>\nWhat is in the picture?", "A colourful gradient.")}
    items = [
        first,
        {"id": "2354786", "image": "gqa/images/2354786.jpg",
         "conversations": _turns("Is the sky blue?\n<image>", "Yes", "What colour is the corner?", "Red")},
        {"id": "i6IyJda_0", "conversations": _turns("Write a haiku about rain.", "Soft rain on the roof",
                                                    "Another?", "Puddles hold the sky")},
        {"id": "sharegpt_1", "conversations": [{"from": "human", "value": "2+2?"},
                                               {"from": "assistant", "value": "4"}]},
        {"id": "ocr_1", "image": "ocr_vqa/images/ocr_1.jpg",
         "conversations": _turns("<image>\nWho wrote this book?", "Nobody")},
        {"id": "missing", "image": "coco/train2017/000000009999.jpg", "conversations": _turns("<image>\nx", "y")},
        {"id": "order", "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]},
        dict(first),  # exact repeat: a duplicate
        {"id": "000000000001", "image": "coco/train2017/000000000001.jpg",
         "conversations": _turns("<image>\nHow many colours?", "Three")},  # same id, new content: kept
        {"image": "coco/train2017/000000000001.jpg", "conversations": _turns("<image>\nno id", "z")},
        {"id": "corrupt", "image": "coco/train2017/000000000002.jpg", "conversations": _turns("<image>\nq", "a")},
        {"id": "empty", "conversations": _turns("Say nothing.", "   ")},
    ]
    _json(target / "llava_v1_5_mix665k.json", items)
    _bytes(target / "coco/train2017/000000000001.jpg", image_bytes(1))
    _bytes(target / "coco/train2017/000000000002.jpg", CORRUPT)
    _bytes(target / "gqa/images/2354786.jpg", image_bytes(2))
    _bytes(target / "ocr_vqa/images/ocr_1.png", image_bytes(3, "PNG"))


def coco_captions(target: Path) -> None:
    """``annotations/captions_train2017.json`` (official schema) + ``train2017/``."""
    images = [{"license": 1, "file_name": f"{i:012d}.jpg", "coco_url": "", "height": 32, "width": 48,
               "date_captured": "2013-11-14 16:28:13", "flickr_url": "", "id": i} for i in (9, 25, 30, 34)]
    annotations = [
        {"image_id": 9, "id": 1, "caption": "A cat  sitting on a mat. \n"},
        {"image_id": 9, "id": 2, "caption": "A small animal on a rug."},
        {"image_id": 25, "id": 3, "caption": "A giraffe eating leaves."},
        {"image_id": 30, "id": 4, "caption": "   "},
        {"image_id": 999, "id": 5, "caption": "No such image."},
        {"image_id": 34, "id": 6, "caption": "Its file is missing."},
        {"image_id": 25, "id": 3, "caption": "A giraffe eating leaves."},
        {"image_id": 30, "caption": "No annotation id."},
        {"image_id": 30, "id": 9, "caption": "Flowers in a vase."},
    ]
    _json(target / "annotations/captions_train2017.json",
          {"info": {"description": "COCO 2017 Dataset", "year": 2017}, "licenses": [{"id": 1, "name": "x"}],
           "images": images, "annotations": annotations})
    for i in (9, 25, 30):
        _bytes(target / f"train2017/{i:012d}.jpg", image_bytes(i))


def _videodatainfo(videos: list[tuple[str, str]], sentences: list[dict]) -> dict:
    return {"info": {"contributor": "Microsoft MSM group", "year": "2016"},
            "videos": [{"category": 9, "url": f"https://www.youtube.com/watch?v={v}", "video_id": v,
                        "start time": 1.0, "end time": 3.0, "split": split, "id": int(v[5:])} for v, split in videos],
            "sentences": sentences}


def msrvtt_captions(target: Path) -> None:
    """``train_val_videodatainfo.json`` + ``test_videodatainfo.json`` + ``videos/all/videoN.mp4``."""
    trainval = [
        {"caption": "a test pattern with a moving counter", "video_id": "video0", "sen_id": 0},
        {"caption": "colour blocks on a screen", "video_id": "video0", "sen_id": 1},
        {"caption": "coloured bars are shown", "video_id": "video1", "sen_id": 2},
        {"caption": "this video was never downloaded", "video_id": "video2", "sen_id": 3},
        {"caption": "no such video", "video_id": "video77", "sen_id": 4},
        {"caption": "", "video_id": "video1", "sen_id": 5},
        {"caption": "no sentence id", "video_id": "video1"},
    ]
    _json(target / "train_val_videodatainfo.json",
          _videodatainfo([("video0", "train"), ("video1", "validate"), ("video2", "train")], trainval))
    test = [{"caption": "a pattern changes colour", "video_id": "video7010", "sen_id": 140200},
            {"caption": "a broken file", "video_id": "video7011", "sen_id": 140201}]
    _json(target / "test_videodatainfo.json", _videodatainfo([("video7010", "test"), ("video7011", "test")], test))
    _videos([target / "videos/all/video0.mp4", target / "videos/all/video1.mp4", target / "videos/all/video7010.mp4"])
    _bytes(target / "videos/all/video7011.mp4", CORRUPT)


def msrvtt_qa(target: Path) -> None:
    """``{train,val,test}_qa.json`` + MSR-VTT's official ``TrainValVideo/`` and ``TestVideo/`` folders."""
    _json(target / "train_qa.json", [
        {"answer": "pattern", "id": 0, "question": "what is shown?", "video_id": 0},
        {"answer": "bars", "id": 1, "question": "what is on the screen ?", "video_id": 1},
        {"answer": "car", "id": 2, "question": "what drives by?", "video_id": 2},
        {"answer": "man", "id": 3, "question": "who talks?", "video_id": "x"},
        {"answer": " ", "id": 4, "question": "what is it?", "video_id": 0},
    ])
    _json(target / "val_qa.json", [{"answer": "two", "id": 5, "question": "how many colours?", "video_id": 0},
                                   {"answer": "two", "id": 5, "question": "how many colours?", "video_id": 0}])
    _json(target / "test_qa.json", [{"answer": "blue", "id": 6, "question": "", "video_id": 7010},
                                    {"answer": "blue", "id": 7, "question": "what colour?", "video_id": 7010}])
    _videos([target / "TrainValVideo/video0.mp4", target / "TrainValVideo/video1.mp4",
             target / "TestVideo/video7010.mp4"])


def multis_video(target: Path) -> None:
    """ChatBridge MULTIS video files + ``videos/`` (one clip in ChatBridge's two-letter bucket folder)."""
    conversation = [
        {"video_id": "video0", "conversations": _turns("<video>\nWhat is shown?", "A test pattern.",
                                                       "Does it move?", "Yes, a counter ticks.")},
        {"video_id": "video1", "conversations": _turns("<image>\nWhat colours appear?", "Seven vertical bars.")},
        {"video_id": "video2", "conversations": _turns("<video>\nWhat happens?", "Nothing.")},
        {"video_id": "video0", "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]},
    ]
    detail = [{"video_id": "video0", "conversations": _turns("Describe the video in detail.\n<video>", "A pattern.")},
              {"conversations": _turns("<video>\nno id", "x")}]
    reasoning = [{"video_id": "video1", "conversations": _turns("<video>\nWhy bars?", "To calibrate screens.")}] * 2
    _json(target / "video_conversation_10k.json", conversation)
    _json(target / "video_detail_10k.json", detail)
    _json(target / "video_complex_reasoning_10k.json", reasoning)
    _videos([target / "videos/video0.mp4", target / "videos/vi/video1.mp4"])


def multis_audio(target: Path) -> None:
    """ChatBridge MULTIS audio-visual files + ``audio/{video_id}.wav|flac`` clips."""
    _json(target / "audiovideo_conversation_10k.json", [
        {"video_id": "-0DdlOuIFUI_50.000", "conversations": _turns("<video>\nWhat sound is heard?", "A steady tone.")},
        {"video_id": "abc_10.000", "conversations": _turns("<audio>\nIs it loud?", "No, quiet.", "Pitch?", "High.")},
        {"video_id": "zzz_0.000", "conversations": _turns("<video>\nWhat is heard?", "Silence.")},
        {"video_id": "bad_1.000", "conversations": _turns("<video>\nWhat is heard?", "Noise.")},
        {"video_id": "abc_10.000", "conversations": []},
    ])
    _json(target / "audiovideo_detail_10k.json", [
        {"video_id": "-0DdlOuIFUI_50.000", "conversations": _turns("Describe the audio in detail.\n<audio>", "A tone.")},
    ])
    tone(target / "audio/-0DdlOuIFUI_50.000.wav", 1.0, 440.0)
    tone(target / "audio/abc_10.000.flac", 1.0, 880.0)
    _bytes(target / "audio/bad_1.000.wav", CORRUPT)


def audiocaps(target: Path) -> None:
    """AudioCaps ``train.csv``/``val.csv``/``test.csv`` + ``audio/{youtube_id}_{start_time}.wav`` clips."""
    rows = {
        "train": [(1001, "ytA0000001a", "30", "A dog barks, then a car passes"), (1002, "ytB0000002b", "0", "Birds chirp"),
                  (1003, "ytC0000003c", "10", "Never downloaded"), (1004, "ytD0000004d", "20", "  "),
                  (1005, "ytE0000005e", "abc", "Bad start time")],
        "val": [(2001, "ytA0000001a", "30", "A dog barking and a car"), (2002, "ytF0000006f", "40", "A man speaks")],
        "test": [(3001, "ytG0000007g", "0", "Not converted by default")],
    }
    for split, lines in rows.items():
        with open(target / f"{split}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["audiocap_id", "youtube_id", "start_time", "caption"])
            writer.writerows(lines)
    tone(target / "audio/ytA0000001a_30.wav", 1.0, 440.0)
    tone(target / "audio/ytB0000002b_0.flac", 1.0, 660.0)
    tone(target / "audio/ytD0000004d_20.wav", 1.0, 550.0)
    speech(target / "audio/YytF0000006f.wav", "a man speaks")


def onellm_release(target: Path) -> None:
    """OneLLM's ``datasets/InstructionTuning`` layout: released JSONs per modality + media, paths as released."""
    from PIL import Image

    rgb = "image/coco/train2017/000000000001.jpg"
    _bytes(target / rgb, image_bytes(1))
    _json(target / "image/llava_v1_5_mix665k_image.json", [
        {"id": "000000000001", "image": f"datasets/InstructionTuning/{rgb}",
         "conversations": _turns("<image>\nWhat is shown?", "A gradient.")},
        {"id": "000000000404", "image": "datasets/InstructionTuning/image/coco/train2017/000000000404.jpg",
         "conversations": _turns("<image>\nWhat is shown?", "Missing.")}])
    _json(target / "image/llava_v1_5_mix665k_text.json", [
        {"id": "sg_1", "conversations": [{"from": "human", "value": "Hi"}, {"from": "assistant", "value": "Hello!"}]},
        {"id": "sg_2", "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]}])
    _json(target / "image/cococap_train.json", [
        {"image": rgb, "conversations": _turns("Provide a one-sentence caption for the provided image.", "Colours.")}])
    _videos([target / "video/msrvtt/videos/video0.mp4"])
    _json(target / "video/msrvtt_cap_trainval.json", [
        {"image": "video/msrvtt/videos/video0.mp4", "video_id": "video0",
         "conversations": _turns("<image>\nProvide a one-sentence caption for the provided video.", "A pattern.")}])
    tone(target / "audio/audiocaps/ytA0000001a_30.wav", 1.0, 440.0)
    _json(target / "audio/audiocap_train.json", [
        {"image": "audio/audiocaps/ytA0000001a_30.wav",
         "conversations": _turns("Provide a one-sentence caption for the provided audio.", "A tone.")}])
    rng = np.random.default_rng(7)
    cloud = np.concatenate([rng.normal(size=(8192, 3)), rng.uniform(size=(8192, 3))], 1).astype(np.float32)
    (target / "point/pointllm/8192_npy").mkdir(parents=True, exist_ok=True)
    np.save(target / "point/pointllm/8192_npy/obj1_8192.npy", cloud)
    _json(target / "point/pointllm_70k.json", [
        {"image": "point/pointllm/8192_npy/obj1_8192.npy", "conversations": _turns("<point>\nWhat is this?", "A blob.")}])
    maps = target / "depth_normal"
    depth = (np.linspace(0, 65535, 48 * 64).reshape(48, 64)).astype(np.uint16)
    (maps / "depth").mkdir(parents=True, exist_ok=True)
    (maps / "normal").mkdir(parents=True, exist_ok=True)
    Image.fromarray(depth).save(maps / "depth/000000000001.png")
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(maps / "normal/000000000001.png")
    for kind in ("depth", "normal"):
        _json(maps / f"llava_instruct_50k_{kind}.json", [
            {"id": "000000000001", "image": rgb, f"{kind}_image": f"depth_normal/{kind}/000000000001.png",
             "conversations": _turns("<image>\nWhat is near?", "The left side.")}])
    hz, seconds = 200, 10
    (target / "imu/processed_imu").mkdir(parents=True, exist_ok=True)
    np.save(target / "imu/processed_imu/uid1.npy", rng.normal(size=(6, hz * seconds)).astype(np.float32))
    np.save(target / "imu/processed_imu/uid1_timestamps.npy", np.arange(hz * seconds, dtype=np.float64) * 1000 / hz)
    _json(target / "imu/imu_fixed_50k.json", [
        {"imu_path": "imu/processed_imu", "video_uid": "uid1", "window_start": 3.0, "window_end": 5.0,
         "conversations": _turns("Describe the motion.", "C walks around.")}])
    (target / "fmri/train").mkdir(parents=True, exist_ok=True)
    np.save(target / "fmri/train/sample000000001.npy", rng.normal(size=(3, 15724)).astype(np.float16))
    _json(target / "fmri/fmri_fixed_train.json", [
        {"image": "fmri/train/sample000000001.npy",
         "conversations": _turns("Describe the scene based on fMRI data.", "A cat on a sofa.")}])


SOURCES: dict[str, Callable[[Path], None]] = {
    "llava_mix665k": llava_mix665k,
    "coco_captions": coco_captions,
    "msrvtt_captions": msrvtt_captions,
    "msrvtt_qa": msrvtt_qa,
    "multis_video": multis_video,
    "multis_audio": multis_audio,
    "audiocaps": audiocaps,
    "onellm_release": onellm_release,
}
