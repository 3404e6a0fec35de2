"""Each paper eval set read from a tiny fixture in its official annotation layout (Clotho also from the real
validation CSV): task, modality, Table 11 prompt, ids, media paths and references."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from model.eval_sets import EVAL_SETS, EvalSetError, caption_records, read_eval_set
from onellm_data.prompts import CAPTION_PROMPTS, SHORT_QA_SUFFIX
from tests.model_eval.coco_helpers import write_tiny_coco_captions
from tests.conftest import realdata



def reader_of(name: str) -> str:
    """Marks the reader test of ``name`` (the last test checks that every registered set has one)."""
    return name


def _coco(images: list[dict], captions: dict[int, list[str]]) -> dict:
    anns = [{"id": 10 * i + j, "image_id": i, "caption": c} for i, caps in captions.items() for j, c in enumerate(caps)]
    return {"info": {}, "licenses": [], "images": images, "annotations": anns}


def test_coco_official_captions(tmp_path) -> None:
    ann, media = write_tiny_coco_captions(tmp_path, n=3)
    s = read_eval_set(reader_of("coco"), ann, media)
    assert (s.task, s.modality) == ("caption", "image")
    assert [i.item_id for i in s.items] == ["100", "101", "102"]
    assert all(i.prompt == "Provide a one-sentence caption for the provided image." for i in s.items)
    assert s.items[0].media.path == media / "000000000000.jpg"
    assert all(len(s.references[i.item_id]) == 2 for i in s.items)
    assert s.limit(2).references.keys() == {"100", "101"}


def test_karpathy_and_lavis_caption_layouts(tmp_path) -> None:
    karpathy = {"dataset": "coco", "images": [
        {"filepath": "val2014", "filename": "COCO_val2014_000000000042.jpg", "split": "test", "cocoid": 42,
         "sentences": [{"raw": "A cat.", "tokens": ["a", "cat"]}, {"raw": "A small cat.", "tokens": []}]},
        {"filepath": "train2014", "filename": "COCO_train2014_000000000007.jpg", "split": "train", "cocoid": 7,
         "sentences": [{"raw": "A dog.", "tokens": []}]}]}
    (tmp_path / "dataset_coco.json").write_text(json.dumps(karpathy))
    recs = caption_records(tmp_path / "dataset_coco.json")
    assert [(i, r["file_name"], caps) for i, r, caps in recs] == [
        ("42", "val2014/COCO_val2014_000000000042.jpg", ["A cat.", "A small cat."])]
    lavis = [{"image": "val2014/COCO_val2014_000000000042.jpg", "caption": ["A cat.", "A small cat."]}]
    (tmp_path / "coco_karpathy_val.json").write_text(json.dumps(lavis))
    s = read_eval_set("coco", tmp_path / "coco_karpathy_val.json", tmp_path)
    assert s.items[0].item_id == "42" and s.items[0].media.path == tmp_path / "val2014/COCO_val2014_000000000042.jpg"
    (tmp_path / "bad.json").write_text(json.dumps({"questions": []}))
    with pytest.raises(EvalSetError, match="not a caption annotation file"):
        read_eval_set("coco", tmp_path / "bad.json", tmp_path)


def test_nocaps_domains(tmp_path) -> None:
    images = [{"id": k, "file_name": f"{k:04x}.jpg", "open_images_id": f"{k:04x}", "domain": d}
              for k, d in enumerate(["in-domain", "near-domain", "out-domain", "near-domain"])]
    (tmp_path / "nocaps_val_4500_captions.json").write_text(
        json.dumps(_coco(images, {k: [f"caption {k} {j}" for j in range(10)] for k in range(4)})))
    s = read_eval_set(reader_of("nocaps"), tmp_path / "nocaps_val_4500_captions.json", tmp_path / "images")
    assert s.groups == {"0": "in-domain", "1": "near-domain", "2": "out-domain", "3": "near-domain"}
    assert len(s.references["2"]) == 10 and s.items[1].media.path == tmp_path / "images" / "0001.jpg"


def test_flickr30k_karpathy_test_split(tmp_path) -> None:
    data = {"dataset": "flickr30k", "images": [
        {"filename": f"{1000092795 + k}.jpg", "imgid": k, "split": "test" if k < 2 else "train",
         "sentences": [{"raw": f"Two people {k} {j}.", "tokens": [], "imgid": k, "sentid": 5 * k + j}
                       for j in range(5)], "sentids": list(range(5 * k, 5 * k + 5))} for k in range(3)]}
    (tmp_path / "dataset_flickr30k.json").write_text(json.dumps(data))
    s = read_eval_set(reader_of("flickr30k"), tmp_path / "dataset_flickr30k.json", tmp_path / "flickr30k-images")
    assert [i.item_id for i in s.items] == ["0", "1"] and len(s.references["1"]) == 5
    assert s.items[1].media.path == tmp_path / "flickr30k-images" / "1000092796.jpg"


def test_msvd_qa_with_youtube_mapping(tmp_path) -> None:
    (tmp_path / "test_qa.json").write_text(json.dumps([
        {"answer": "fish", "id": 30933, "question": "what is a woman boiling in a pot of water?", "video_id": 1301},
        {"answer": "dog", "id": 30934, "question": "what runs?", "video_id": 2}]))
    (tmp_path / "youtube_mapping.txt").write_text("-4wsuPCjDBc_5_15 vid1\nzzit5b_-ukg_5_20 vid1301\nabc_1_2 vid2\n")
    s = read_eval_set(reader_of("msvd_qa"), tmp_path / "test_qa.json", tmp_path / "YouTubeClips")
    assert (s.task, s.modality) == ("qa", "video")
    first = s.items[0]
    assert first.item_id == "30933" and first.answer == "fish"
    assert first.media.path == tmp_path / "YouTubeClips" / "zzit5b_-ukg_5_20.avi"
    assert first.prompt == f"what is a woman boiling in a pot of water? {SHORT_QA_SUFFIX}"
    (tmp_path / "youtube_mapping.txt").unlink()
    with pytest.raises(EvalSetError, match="vid1301 not in youtube_mapping.txt"):
        read_eval_set("msvd_qa", tmp_path / "test_qa.json", tmp_path / "YouTubeClips")


def test_clotho_official_csv_with_quoted_commas(tmp_path) -> None:
    rows = [["file_name", *[f"caption_{k}" for k in range(1, 6)]],
            ["Crowd, int, echoes.wav", "A crowd talks, loudly.", "People talk.", "c3", "c4", "c5"],
            ["rain.wav", "Rain falls.", "Water drips.", "c3", "c4", "c5"]]
    with (tmp_path / "clotho_captions_evaluation.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    s = read_eval_set(reader_of("clotho"), tmp_path / "clotho_captions_evaluation.csv", tmp_path / "evaluation")
    assert (s.task, s.modality) == ("caption", "audio")
    assert [i.item_id for i in s.items] == ["Crowd, int, echoes.wav", "rain.wav"]
    assert s.references["Crowd, int, echoes.wav"][0] == "A crowd talks, loudly."
    assert s.items[0].media.path == tmp_path / "evaluation" / "Crowd, int, echoes.wav"
    assert s.items[0].prompt == CAPTION_PROMPTS["audio"]


def test_clotho_real_validation_csv() -> None:
    s = read_eval_set("clotho", realdata("clotho/val.csv"), Path("clotho/validation"))
    assert len(s.items) == 1045
    names = [i.item_id for i in s.items]
    assert len(set(names)) == 1045 and all(n.endswith(".wav") for n in names)
    assert sum("," in n for n in names) == 37
    assert all(len(refs) == 5 for refs in s.references.values())
    assert "Crowd, int, echoes.wav" in s.references


def test_clotho_aqa_groups_annotators(tmp_path) -> None:
    rows = [["file_name", "QuestionText", "answer", "confidence"],
            ["a, b.wav", "Is it raining?", "yes", "yes"], ["a, b.wav", "Is it raining?", "no", "maybe"],
            ["a, b.wav", "Is it raining?", "Yes", "yes"], ["a, b.wav", "What animal is heard?", "dog", "yes"],
            ["a, b.wav", "What animal is heard?", "a dog", "yes"], ["c.wav", "Is it loud?", "no", "yes"]]
    with (tmp_path / "clotho_aqa_test.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    s = read_eval_set(reader_of("clotho_aqa"), tmp_path / "clotho_aqa_test.csv", tmp_path / "audio_files")
    assert (s.task, s.modality) == ("qa", "audio")
    assert [i.item_id for i in s.items] == ["a, b.wav#1", "a, b.wav#2", "c.wav#1"]
    assert s.items[0].answer == ["yes", "no"]  # majority first
    assert s.items[1].answer == ["dog", "a dog"]  # a tie keeps the given order
    assert s.items[0].prompt == f"Is it raining? {SHORT_QA_SUFFIX}"
    assert s.items[0].media.path == tmp_path / "audio_files" / "a, b.wav"


def test_pointllm_gt_list_and_onellm_map(tmp_path) -> None:
    gt = [{"object_id": "8a3b", "conversation_type": "simple_description",
           "conversations": [{"from": "human", "value": "<point>\nWhat is this?"},
                             {"from": "gpt", "value": "A wooden chair with four legs."}]}]
    (tmp_path / "PointLLM_brief_description_val_200_GT.json").write_text(json.dumps(gt))
    s = read_eval_set(reader_of("pointllm"), tmp_path / "PointLLM_brief_description_val_200_GT.json", tmp_path / "npy")
    assert (s.task, s.modality) == ("caption", "point")
    assert s.references == {"8a3b": ["A wooden chair with four legs."]}
    assert s.items[0].media.path == tmp_path / "npy" / "8a3b_8192.npy"
    assert s.items[0].prompt == "Provide a one-sentence caption for the provided point cloud."
    (tmp_path / "pointllm_test.json").write_text(json.dumps({"8a3b": "A chair.", "ff01": "A red car."}))
    s = read_eval_set("pointllm", tmp_path / "pointllm_test.json", tmp_path / "npy", prompt="What is this?")
    assert [i.item_id for i in s.items] == ["8a3b", "ff01"] and s.items[0].prompt == "What is this?"


def test_ego4d_imu_coco_with_windows(tmp_path) -> None:
    images = [{"id": 0, "video_uid": "be8889c4", "window_start": 739.0, "window_end": 741.0},
              {"id": 1, "video_uid": "8e9ce0c8", "window_start": 12, "window_end": 14, "file_name": "x/8e9ce0c8.csv"}]
    (tmp_path / "imu_2000_cococap.json").write_text(json.dumps(_coco(images, {0: ["C moves his head."],
                                                                              1: ["C walks."]})))
    s = read_eval_set(reader_of("ego4d_imu"), tmp_path / "imu_2000_cococap.json", tmp_path / "processed_imu")
    assert (s.task, s.modality) == ("caption", "imu") and s.items[0].prompt == "Describe the motion."
    assert s.items[0].media.path == tmp_path / "processed_imu" / "be8889c4.npy"
    assert s.items[0].media.window == (739.0, 741.0)
    assert s.items[1].media.path == tmp_path / "processed_imu" / "x/8e9ce0c8.csv"


def test_nsd_coco_with_npy_paths(tmp_path) -> None:
    name = "test/test_subj01_1/sample000007482.nsdgeneral.npy"
    (tmp_path / "fmri_eval_cococap.json").write_text(json.dumps(_coco([{"id": 7482, "file_name": name}],
                                                                      {7482: ["A man surfing.", "A surfer."]})))
    s = read_eval_set(reader_of("nsd"), tmp_path / "fmri_eval_cococap.json", tmp_path / "nsd")
    assert (s.task, s.modality) == ("caption", "fmri")
    assert s.items[0].prompt == "Describe the scene based on fMRI data."
    assert s.items[0].media.path == tmp_path / "nsd" / name and s.references["7482"] == ["A man surfing.", "A surfer."]


def test_unknown_set_and_missing_file(tmp_path) -> None:
    with pytest.raises(EvalSetError, match="unknown eval set 'vqav3'"):
        read_eval_set("vqav3", tmp_path / "a.json", tmp_path)
    with pytest.raises(EvalSetError, match="annotation file not found"):
        read_eval_set("clotho", tmp_path / "missing.csv", tmp_path)
    with pytest.raises(EvalSetError, match="prompt from each question"):
        read_eval_set("clotho_aqa", tmp_path / "a.csv", tmp_path, prompt="x")


def test_every_registered_set_has_a_reader_test() -> None:
    named = set(re.findall(r'reader_of\("(\w+)"\)', Path(__file__).read_text()))
    assert named == set(EVAL_SETS)
