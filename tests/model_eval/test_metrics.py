import json

import pytest

from model.metrics import (
    caption_scores,
    choice_accuracy,
    exact_match,
    lenient_match,
    load_coco_captions,
    option_letter,
    qa_scores,
)


def test_perfect_caption_scores_one_and_wrong_caption_scores_low():
    refs = {"1": ["a dog runs on the grass", "a brown dog running"], "2": ["two cats sleep on a sofa"]}
    perfect = caption_scores({"1": "a dog runs on the grass", "2": "two cats sleep on a sofa"}, refs)
    assert perfect["BLEU-1"] == pytest.approx(1.0, abs=1e-6)
    assert perfect["BLEU-4"] == pytest.approx(1.0, abs=1e-6)
    assert perfect["ROUGE-L"] == pytest.approx(1.0, abs=1e-6)
    assert perfect["METEOR"] > 0.9
    wrong = caption_scores({"1": "an airplane in the sky", "2": "a red car"}, refs)
    assert wrong["BLEU-1"] < 0.3 and wrong["CIDEr"] < perfect["CIDEr"]


def test_known_bleu1_with_brevity_penalty():
    # 3 of 3 candidate unigrams match a 6-word reference: precision 1, brevity penalty exp(1 - 6/3) = e^-1.
    scores = caption_scores({"1": "dog on grass"}, {"1": ["a dog sits on green grass"]})
    assert scores["BLEU-1"] == pytest.approx(0.36788, abs=1e-3)


def test_coco_loader(tmp_path):
    ann = {"images": [{"id": 7, "file_name": "x.jpg"}], "annotations": [{"image_id": 7, "id": 1, "caption": "c"}]}
    (tmp_path / "a.json").write_text(json.dumps(ann))
    images, refs = load_coco_captions(tmp_path / "a.json")
    assert images["7"]["file_name"] == "x.jpg" and refs == {"7": ["c"]}


def test_qa_matches():
    assert exact_match("The Dog.", "dog") and not exact_match("a dog barks", "dog")
    assert lenient_match("a dog barks", "dog") and lenient_match("dog", "hot dog") and not lenient_match("", "x")
    assert qa_scores(["dog", "two cats", "red"], ["dog", "cats", "blue"]) == {
        "exact_match": pytest.approx(1 / 3), "lenient_match": pytest.approx(2 / 3)}


def test_option_letters():
    assert option_letter("B") == "B" and option_letter("(C) a cat") == "C" and option_letter("D. none") == "D"
    assert option_letter("Because it rains") is None
    assert choice_accuracy(["A", "(B) x", "c"], ["A", "B", "C"]) == pytest.approx(2 / 3)
