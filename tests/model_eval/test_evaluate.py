"""run_eval with scripted answers (known scores), missing media, and the model answerer's batching."""

from __future__ import annotations

import json

import pytest
import torch

from model.eval_sets import read_eval_set
from tests.model_eval.coco_helpers import write_tiny_coco_captions
from model.evaluate import DecodeSettings, EvalItem, ModelAnswerer, run_eval, separator_stop_ids
from model.inference import load_inference_model
from model.media import MediaInput
from onellm_data.errors import OnellmDataError


def _qa_items(media_dir) -> list[EvalItem]:
    photo = MediaInput("image", media_dir / "photo.jpg")
    return [EvalItem("q1", photo, "What animal? Answer ...", "dog", {"question": "What animal?"}),
            EvalItem("q2", photo, "What colour?", ["red", "dark red"], {"question": "What colour?"}),
            EvalItem("q3", photo, "How many?", "two", {"question": "How many?"})]


def test_qa_reports_exact_and_lenient_match(tmp_path, media_dir) -> None:
    answers = {"q1": "a big dog", "q2": "Dark red.", "q3": "three"}
    result = run_eval("qa", _qa_items(media_dir), lambda item: answers[item.item_id], out_dir=tmp_path,
                      info={"dataset": "toy"})
    # q1: lenient only; q2: exact against "dark red" (an accepted answer), lenient against "red"; q3: neither
    assert result["exact_match"] == pytest.approx(0.0)
    assert result["lenient_match"] == pytest.approx(2 / 3)
    assert result["exact_match_any"] == pytest.approx(1 / 3)
    assert result["lenient_match_any"] == pytest.approx(2 / 3)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved == result and saved["dataset"] == "toy" and saved["items"] == 3
    rows = json.loads((tmp_path / "predictions.json").read_text())
    assert rows[0] == {"question_id": "q1", "question": "What animal?", "prediction": "a big dog", "answer": "dog",
                       "exact_match": False, "lenient_match": True}


def test_eval_outputs_are_published_whole(tmp_path, media_dir, monkeypatch) -> None:
    from onellm_data.shards import atomic

    published: list[str] = []
    real = atomic.commit
    monkeypatch.setattr(atomic, "commit", lambda tmp, final: (published.append(final.name), real(tmp, final)))
    run_eval("qa", _qa_items(media_dir), lambda item: "three", out_dir=tmp_path)
    assert sorted(published) == ["metrics.json", "predictions.json"]


def test_multiple_choice_letters(media_dir) -> None:
    photo = MediaInput("image", media_dir / "photo.jpg")
    items = [EvalItem(str(k), photo, "Q", letter) for k, letter in enumerate("ABC")]
    answers = {"0": "A", "1": "(C) a cat", "2": "C."}
    assert run_eval("mc", items, lambda i: answers[i.item_id])["accuracy"] == pytest.approx(2 / 3)


def test_missing_media_stops_or_is_skipped(tmp_path, media_dir) -> None:
    items = _qa_items(media_dir) + [EvalItem("gone", MediaInput("image", tmp_path / "nope.jpg"), "Q", "x")]

    def answer(item: EvalItem) -> str:
        if not item.media.path.exists():
            raise OnellmDataError(f"media file not found: {item.media.path}")
        return "dog"

    with pytest.raises(OnellmDataError, match="item gone .*nope.jpg"):
        run_eval("qa", items, answer)
    result = run_eval("qa", items, answer, skip_errors=True)
    assert result["items"] == 3 and result["skipped"] == 1 and "gone" in result["skipped_items"]


def test_caption_scores_per_group(tmp_path, media_dir) -> None:
    ann, media = write_tiny_coco_captions(tmp_path, n=4)
    s = read_eval_set("coco", ann, media)
    groups = {i.item_id: ("in-domain" if k < 2 else "out-domain") for k, i in enumerate(s.items)}
    refs = s.references
    result = run_eval("caption", s.items, lambda i: refs[i.item_id][0], refs, tmp_path / "out", groups=groups)
    assert result["CIDEr"] > 1.0 and result["BLEU-1"] == pytest.approx(1.0, abs=1e-6)
    assert set(result["by_group"]) == {"in-domain", "out-domain"}
    assert result["by_group"]["in-domain"]["items"] == 2
    rows = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert rows[0] == {"image_id": 100, "caption": refs["100"][0]}  # COCO results form, integer ids


def test_batched_greedy_equals_one_by_one(tmp_path, tiny_run) -> None:
    model, tok = load_inference_model(tiny_run)
    with torch.no_grad():
        model.llma.output.weight.mul_(20)  # a random tiny model's logits are nearly flat: avoid argmax ties
    ann, media = write_tiny_coco_captions(tmp_path, n=3)
    items = read_eval_set("coco", ann, media).items
    settings = DecodeSettings(max_new_tokens=6)
    single = ModelAnswerer(model, tok, settings, batch_size=1).answer_many(items)
    batched = ModelAnswerer(model, tok, settings, batch_size=3).answer_many(items)
    assert single == batched and set(single) == {"100", "101", "102"}
    assert [ModelAnswerer(model, tok, settings)(i) for i in items] == [single[i.item_id] for i in items]


def test_sampling_is_seeded(tiny_run, media_dir) -> None:
    model, tok = load_inference_model(tiny_run)
    photo = MediaInput("image", media_dir / "photo.jpg")
    settings = DecodeSettings(max_new_tokens=6, temperature=1.0, top_p=0.9, seed=3)
    first = ModelAnswerer(model, tok, settings).ask(photo, "What is it?")
    again = ModelAnswerer(model, tok, settings).ask(photo, "What is it?")
    assert first == again and first.new_tokens >= 1 and first.prompt_tokens > 30


class _LlamaLikeTokenizer:
    """LLaMA splits "\n###" as "<0x0A>", "##", "#" (paper reference §4.4)."""

    pieces = {"\n": [13], "\n###": [13, 2277, 29937]}

    def encode(self, text: str, bos: bool, eos: bool) -> list[int]:
        return self.pieces[text]

    def decode(self, ids) -> str:
        return {2277: "##", 29937: "#", 13: "\n"}[ids[0]]


def test_separator_stop_token() -> None:
    from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer

    demo = Tokenizer(DEMO_TOKENIZER)
    assert [demo.id_to_piece(i) for i in separator_stop_ids(demo)] == ["###"]
    assert separator_stop_ids(_LlamaLikeTokenizer()) == [2277]


def test_decoding_stops_at_the_separator(tiny_run, media_dir, monkeypatch) -> None:
    """A model that never emits EOS (OneLLM's release) is stopped where "###" starts, unless told not to."""
    model, tok = load_inference_model(tiny_run)
    (sep,) = separator_stop_ids(tok)
    logits = model.llma.logits

    def always_separator(h):
        out = logits(h)
        out[..., sep] += 1e4
        return out

    monkeypatch.setattr(model.llma, "logits", always_separator)
    photo = MediaInput("image", media_dir / "photo.jpg")
    stopped = ModelAnswerer(model, tok, DecodeSettings(max_new_tokens=5)).ask(photo, "Q?")
    assert stopped.new_tokens == 0 and stopped.text == ""
    ran_on = ModelAnswerer(model, tok, DecodeSettings(max_new_tokens=5, stop_at_separator=False)).ask(photo, "Q?")
    assert ran_on.new_tokens == 5 and ran_on.text == ""  # the answer is still cut at "###"


def test_qa_rows_flag_the_main_and_any_answer(tmp_path, media_dir) -> None:
    run_eval("qa", _qa_items(media_dir), lambda item: "Dark red.", out_dir=tmp_path)
    row = json.loads((tmp_path / "predictions.json").read_text())[1]
    assert row["answer"] == ["red", "dark red"]
    assert (row["exact_match"], row["lenient_match"], row["exact_match_any"], row["lenient_match_any"]) == \
        (False, True, True, True)
