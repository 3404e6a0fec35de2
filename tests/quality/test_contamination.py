"""Contamination on a real converted corpus against eval sets written in their official layouts: planted overlap
(same id, same media, resized media, equal caption, same audio in a new container) must be found, unique eval
items and unrelated training samples must not be flagged."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.eval_sets import read_eval_set
from onellm_data.errors import SettingError
from onellm_data.quality import check_contamination
from onellm_data.quality.contamination import read_eval_side
from tests.quality.corpus import _audio, build_planted_corpus, cloud, jpeg, photo, tone

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_planted_corpus(tmp_path_factory.mktemp("planted"))


def _coco_eval(root: Path) -> Path:
    """Karpathy-style COCO captions: 1 resized copy of photo 0, 2 a unique photo whose reference repeats
    CAPTIONS[1] (alpha-p1's answer), 3 a unique photo with unique captions."""
    (root / "images").mkdir(parents=True)
    (root / "images" / "COCO_val2014_000000000001.jpg").write_bytes(jpeg(photo(0).resize((64, 48)), 80))
    (root / "images" / "COCO_val2014_000000000002.jpg").write_bytes(jpeg(photo(20)))
    (root / "images" / "COCO_val2014_000000000003.jpg").write_bytes(jpeg(photo(21)))
    images = [{"id": k, "file_name": f"COCO_val2014_00000000000{k}.jpg"} for k in (1, 2, 3)]
    anns = [{"id": 1, "image_id": 1, "caption": "Shapes on grey."},
            {"id": 2, "image_id": 2, "caption": "  two GREEN squares, side by side!! "},
            {"id": 3, "image_id": 3, "caption": "An orange kite over a beach at dusk."}]
    path = root / "captions.json"
    path.write_text(json.dumps({"images": images, "annotations": anns}))
    return path


def _clotho_eval(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "tone copy.flac").write_bytes(_audio(tone(440), "FLAC"))  # alpha-a's samples, another container
    (root / "unique chirp.wav").write_bytes(_audio(tone(1250) * np.linspace(0, 1, 24000, dtype=np.float32), "WAV"))
    path = root / "clotho_captions_evaluation.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file_name", *(f"caption_{k}" for k in range(1, 6))])
        w.writerow(["tone copy.flac", *(f"a tone rings out clearly {k}" for k in range(5))])
        w.writerow(["unique chirp.wav", *(f"a bird chirps once more {k}" for k in range(5))])
    return path


def _pointllm_eval(root: Path) -> Path:
    root.mkdir(parents=True)
    np.save(root / "gamma_obj_8192.npy", cloud(4))  # gamma-c's cloud under an Objaverse-style id
    np.save(root / "fresh_obj_8192.npy", cloud(9))
    path = root / "PointLLM_brief_description_val_200_GT.json"
    path.write_text(json.dumps([{"object_id": oid, "conversations": [
        {"from": "human", "value": "<point>\nWhat is this?"}, {"from": "gpt", "value": f"An object called {oid}."}]}
        for oid in ("gamma_obj", "fresh_obj")]))
    return path


def test_planted_overlap_found_and_unique_items_clean(corpus, tmp_path):
    evals = [("coco", _coco_eval(tmp_path / "coco"), tmp_path / "coco" / "images"),
             ("clotho", _clotho_eval(tmp_path / "clotho"), tmp_path / "clotho"),
             ("pointllm", _pointllm_eval(tmp_path / "pointllm"), tmp_path / "pointllm")]
    summary, paths = check_contamination(corpus, evals, read_eval_set=read_eval_set)
    import pandas as pd

    m = pd.read_parquet(paths["contamination_matches.parquet"])
    hits = {(r.eval_set, r.eval_item, r.key, r.method) for r in m.itertuples()}
    # COCO: the resized photo is a near duplicate of alpha-p0, beta-copy and gamma's questions on it.
    for key in ("alpha-p0", "beta-copy", "gamma-q1", "gamma-q2", "gamma-q1again"):
        assert ("coco", "1", key, "near") in hits
    assert ("coco", "2", "alpha-p1", "caption") in hits  # normalised text equality
    assert not any(item == "3" for s, item, _, _ in hits if s == "coco")
    # Clotho: the same PCM as alpha-a and beta-a, in FLAC.
    assert {("clotho", "tone copy.flac", k, "exact") for k in ("alpha-a", "beta-a")} <= hits
    assert not any(item == "unique chirp.wav" for _, item, _, _ in hits)
    # PointLLM: gamma-c's cloud, by exact media hash.
    assert ("pointllm", "gamma_obj", "gamma-c", "exact") in hits
    assert not any(item == "fresh_obj" for _, item, _, _ in hits)
    flagged = set(summary["exclude"])
    assert flagged == {"alpha-p0", "beta-copy", "gamma-q1", "gamma-q2", "gamma-q1again", "alpha-p1", "alpha-a",
                       "beta-a", "gamma-c"}
    assert paths["contamination_exclude.txt"].read_text().split() == sorted(flagged)
    sets = {s["eval_set"]: s for s in summary["eval_sets"]}
    assert (sets["coco"]["items_found"], sets["clotho"]["items_found"], sets["pointllm"]["items_found"]) == (2, 1, 1)
    md = paths["contamination.md"].read_text()
    assert "| alpha | coco | 2 | 4 |" in md and "`alpha-p1` ↔ 2 (caption)" in md


def test_id_match_only_inside_the_ids_dataset(tmp_path):
    """COCO image 9 is flagged in coco_captions (image_id 9) and LLaVA's COCO part, not in GQA image 9."""
    from onellm_data.quality.normalise import id_token, sample_id_tokens

    assert id_token("COCO_val2014_000000000009.jpg", "coco") == "coco:9"
    assert "coco:9" in sample_id_tokens("coco_captions", "123", {"image_id": 9})
    assert "coco:9" in sample_id_tokens("llava_mix665k", "000000000009",
                                        {"dataset": "coco", "image": "coco/train2017/000000000009.jpg"})
    assert "coco:9" not in sample_id_tokens("llava_mix665k", "9", {"dataset": "gqa", "image": "gqa/images/9.jpg"})
    assert "coco:123" not in sample_id_tokens("coco_captions", "123", {"image_id": 9})  # an annotation id


def test_contamination_command_and_bad_eval_spec(corpus, tmp_path):
    ann = _coco_eval(tmp_path / "coco")
    cli = [sys.executable, "-c", "from onellm_data.cli import main; main()", "contamination", str(corpus)]
    run = subprocess.run([*cli, "--eval", f"coco={ann},{tmp_path / 'coco' / 'images'}"], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert "samples flagged" in run.stderr and "coco 2/3" in run.stderr
    bad = subprocess.run([*cli, "--eval", "nosuchset=x.json"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown eval set 'nosuchset'" in bad.stderr


@pytest.mark.skipif(not (REALDATA / "coco").is_dir(), reason="../shared/realdata/coco is absent (real COCO files)")
def test_real_coco_overlap(tmp_path):
    """Real COCO photos and captions: training holds 60 images with their real captions; the eval set (official
    COCO captions layout) holds one of them byte for byte, one resized, and 4 withheld images."""
    from onellm_data.converters.jsonl import JsonlConverter
    from onellm_data.pipeline import ShardSettings, run_conversion

    coco = json.loads((REALDATA / "coco" / "annotations" / "captions_train2017.json").read_text())
    caps: dict[int, list[str]] = {}
    for a in coco["annotations"]:
        caps.setdefault(a["image_id"], []).append(a["caption"])
    images = sorted(coco["images"], key=lambda im: im["id"])
    train, held = images[:60], images[60:64]
    raw = tmp_path / "raw"
    (raw / "img").mkdir(parents=True)
    lines = []
    for im in train:
        shutil.copyfile(REALDATA / "coco" / "train2017" / im["file_name"], raw / "img" / im["file_name"])
        lines.append({"id": f"cap{im['id']}", "modality": "image", "media": {"jpg": f"img/{im['file_name']}"},
                      "meta": {"task": "caption", "image_id": im["id"]},
                      "conversations": [{"from": "human", "value": "<image>\nCaption?"},
                                        {"from": "gpt", "value": caps[im["id"]][0]}]})
    (raw / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    corpus = tmp_path / "corpus"
    run_conversion(JsonlConverter(raw, source="coco_captions"), corpus, ShardSettings(max_count=32))

    media = tmp_path / "eval" / "val2014"
    media.mkdir(parents=True)
    same, resized = train[0], train[1]
    shutil.copyfile(REALDATA / "coco" / "train2017" / same["file_name"], media / "same.jpg")
    big = Image.open(REALDATA / "coco" / "train2017" / resized["file_name"]).convert("RGB")
    (media / "resized.jpg").write_bytes(jpeg(big.resize((big.width * 3 // 4, big.height * 3 // 4)), 75))
    eval_images = [{"id": 900001, "file_name": "same.jpg"}, {"id": 900002, "file_name": "resized.jpg"}]
    for im in held:
        shutil.copyfile(REALDATA / "coco" / "train2017" / im["file_name"], media / im["file_name"])
        eval_images.append({"id": im["id"], "file_name": im["file_name"]})
    anns = [{"id": i, "image_id": e["id"], "caption": f"held-out reference number {i} for this picture"}
            for i, e in enumerate(eval_images)]
    ann = tmp_path / "eval" / "captions.json"
    ann.write_text(json.dumps({"images": eval_images, "annotations": anns}))
    summary, _ = check_contamination(corpus, [("coco", ann, media)], read_eval_set=read_eval_set)
    assert summary["exclude"] == sorted([f"coco_captions-cap{same['id']}", f"coco_captions-cap{resized['id']}"])
    pair = summary["pairs"][0]
    assert pair["by_method"]["exact"] == 1 and pair["by_method"]["near"] == 2 and pair["by_method"]["id"] == 0


def test_text_normalisation_and_short_texts():
    from onellm_data.quality.normalise import normalise_text, text_hash

    assert normalise_text("<image>\nTwo GREEN squares, side-by-side!!") == "two green squares side by side"
    assert text_hash("Two green squares side by side.") == text_hash("  two GREEN squares, side by side!! ")
    assert text_hash("A red dog.") is None  # under four words: never compared
    q = "What is the man doing? Answer the question using a single word or phrase."
    assert text_hash(q, 3) == text_hash("what is the man doing", 3)  # the QA suffix is boilerplate


@pytest.mark.skipif(not (REALDATA / "audiocaps" / "val.csv").is_file(),
                    reason="../shared/realdata/audiocaps/val.csv is absent (the official AudioCaps CSV)")
def test_real_audiocaps_split_against_audiocaps_and_wavcaps_ids(tmp_path):
    """The official AudioCaps CSV as the held-out set: training clips with the same YouTube id (AudioCaps-style
    meta, and WavCaps' AudioSet ``as-Y<id>`` ids) and a training caption equal to a reference are flagged; an
    unrelated clip is not."""
    from onellm_data.converters.jsonl import JsonlConverter
    from onellm_data.pipeline import ShardSettings, run_conversion

    rows = list(csv.DictReader((REALDATA / "audiocaps" / "val.csv").open(newline="")))
    first, second, third = rows[0], rows[10], rows[20]
    assert len({first["youtube_id"], second["youtube_id"], third["youtube_id"]}) == 3
    raw = tmp_path / "raw"
    raw.mkdir()
    lines = []
    for i, (sid, meta, answer) in enumerate([
            ("ac1", {"youtube_id": first["youtube_id"]}, "A steady tone plays for a while."),
            (f"as-Y{second['youtube_id']}", {}, "Something else entirely happens here."),
            ("free1", {}, third["caption"]),  # the reference caption, reused
            ("free2", {}, "A low hum that slowly fades away.")]):
        (raw / f"{i}.wav").write_bytes(_audio(tone(200 + 150 * i), "WAV"))
        lines.append({"id": sid, "modality": "audio", "media": {"wav": f"{i}.wav"}, "meta": meta,
                      "conversations": [{"from": "human", "value": "<audio>\nCaption?"}, {"from": "gpt", "value": answer}]})
    (raw / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    corpus = tmp_path / "corpus"
    # the source names matter: WavCaps' AudioSet ids are read as YouTube ids
    run_conversion(JsonlConverter(raw, source="wavcaps"), corpus, ShardSettings(max_count=8))
    summary, paths = check_contamination(corpus, [("audiocaps", REALDATA / "audiocaps" / "val.csv", tmp_path)])
    assert summary["exclude"] == sorted(["wavcaps-ac1", f"wavcaps-as-Y{second['youtube_id']}", "wavcaps-free1"])
    sets = summary["eval_sets"][0]
    assert sets["items"] == len({(r["youtube_id"], r["start_time"]) for r in rows})
    assert sets["by_method"]["id"] == 2 and sets["by_method"]["caption"] >= 1
    assert any("media not found" in n for n in summary["notes"])


def test_msrvtt_test_split_by_video_id(tmp_path):
    from onellm_data.quality.extra_sets import read_msrvtt

    ann = tmp_path / "test_videodatainfo.json"
    ann.write_text(json.dumps({"videos": [{"video_id": "video7010", "split": "test"},
                                          {"video_id": "video9", "split": "train"}],
                               "sentences": [{"video_id": "video7010", "caption": "a man rides a red bike fast"}]}))
    side = read_msrvtt(ann, tmp_path)
    assert [r.item for r in side.refs] == ["video7010"] and side.refs[0].ids == (":video7010",)


def test_a_paper_eval_set_needs_the_evaluation_reader(tmp_path):
    """The data layer reads no eval set of the paper by itself: without the evaluation code's reader it says so."""
    with pytest.raises(SettingError, match="read_eval_set"):
        read_eval_side("coco", tmp_path / "captions.json", tmp_path)


def test_the_eval_sets_it_reads_are_evals_plus_two_held_out_splits(tmp_path):
    """contamination --eval takes every set `eval --dataset` reads (through that reader) plus the audiocaps and
    msrvtt held-out splits; another name is refused."""
    from model.eval_sets import EVAL_SETS
    from onellm_data.quality.extra_sets import EXTRA_SETS

    assert set(EVAL_SETS) == {"coco", "nocaps", "flickr30k", "msvd_qa", "clotho", "clotho_aqa", "pointllm",
                              "ego4d_imu", "nsd"}
    assert set(EXTRA_SETS) == {"audiocaps", "msrvtt"}
    asked = []

    def reader(name, annotations, media_root):
        asked.append(name)
        return read_eval_set(name, annotations, media_root)

    side = read_eval_side("clotho", _clotho_eval(tmp_path / "clotho"), tmp_path / "clotho", read_eval_set=reader)
    assert asked == ["clotho"] and sorted(r.item for r in side.refs) == ["tone copy.flac", "unique chirp.wav"]


def test_imu_windows_are_matched_by_recording_id(tmp_path):
    """IMU has no near hash: an Ego4D eval window is found in training by its recording's id (and window)."""
    from onellm_data.commands.corpus import convert_sources
    from onellm_data.pipeline import ShardSettings
    from onellm_data.samples import generate_sample_raw

    raws = generate_sample_raw(tmp_path / "raw", ["ego4d_imu"])
    corpus = tmp_path / "corpus"
    convert_sources(sorted(raws.items()), corpus, ShardSettings(max_count=8, partition_size=8), 1)
    uid = "1a2b3c4d-0000-4000-8000-000000000001"  # the sample recording
    images = [{"id": 1, "video_uid": uid, "window_start": 4.0, "window_end": 6.0},
              {"id": 2, "video_uid": "ffffffff-0000-4000-8000-000000000009", "window_start": 4.0, "window_end": 6.0}]
    ann = tmp_path / "imu_2000_cococap.json"
    ann.write_text(json.dumps({"images": images, "annotations": [
        {"id": k, "image_id": k, "caption": f"C opens cupboard number {k} slowly."} for k in (1, 2)]}))
    summary, paths = check_contamination(corpus, [("ego4d_imu", ann, tmp_path)], read_eval_set=read_eval_set)
    import pandas as pd

    matches = pd.read_parquet(paths["contamination_matches.parquet"])
    assert set(matches["eval_item"]) == {"1"} and set(matches["method"]) == {"id"}
    assert f"ego4d_imu-{uid}_1" in set(matches["key"])  # the training window 4-6 s of that recording
    assert summary["eval_sets"][0]["items_found"] == 1
