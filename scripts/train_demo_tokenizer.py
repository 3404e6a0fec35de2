"""Train the small bundled SentencePiece model (model/assets/demo_tokenizer.model).

LLaMA-style settings (BPE, byte fallback, unk 0, bos 1, eos 2, no pad, digits split) on text this script generates
itself: the conversation template, OneLLM's prompt templates and captions composed from a word list written here.
No third-party text. Deterministic: fixed seed, one thread, every sentence used (no sampling), so rerunning the
script reproduces the committed file byte for byte (with the same sentencepiece version).

    python scripts/train_demo_tokenizer.py [--out model/assets/demo_tokenizer.model] [--vocab 1000]
"""

from __future__ import annotations

import argparse
import io
import random
from pathlib import Path

import sentencepiece as spm

SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the human's questions.")

PROMPTS = [
    "Provide a one-sentence caption for the provided {m}.",
    "Describe the {m} in detail.",
    "What is shown in the {m}?",
    "{q} Answer the question using a single word or phrase.",
    "{q} {o} Answer with the option's letter from the given choices directly.",
    "Provide a short description for this region.",
    "Describe the motion.",
    "Describe the scene based on fMRI data.",
    "What sound can be heard in the {m}?",
    "How many {n} are there?",
]
MEDIA = ["image", "video", "audio", "point cloud", "depth map", "normal map", "IMU recording", "fMRI scan", "clip"]
COLORS = ["red", "blue", "green", "yellow", "black", "white", "brown", "gray", "orange", "purple", "pink"]
NOUNS = ["dog", "cat", "man", "woman", "child", "car", "bus", "train", "bird", "horse", "table", "chair", "tree",
         "house", "street", "beach", "kitchen", "ball", "bicycle", "boat", "phone", "cup", "plate", "window",
         "door", "person", "group of people", "mountain", "river", "field", "room", "road", "sign", "guitar",
         "piano", "engine", "crowd", "wave", "rain", "wind", "hand", "knife", "bowl", "book", "laptop"]
VERBS = ["sitting on", "standing next to", "walking along", "running across", "holding", "looking at", "playing with",
         "riding", "parked near", "lying on", "jumping over", "cutting", "opening", "carrying", "pointing at"]
SOUNDS = ["A dog barks", "A car engine runs", "People are talking", "Rain falls on a roof", "A bird sings",
          "Music is playing", "Water is running", "A train passes by", "Someone is typing"]
MOTIONS = ["The person walks forward", "The person picks up a cup", "The person opens a door", "The person sits down",
           "The person cuts vegetables", "The person climbs the stairs", "The person washes the dishes"]
QUESTIONS = ["What color is the {n}?", "Where is the {n}?", "What is the {n} doing?", "Is there a {n}?",
             "Which object is on the left?", "What time of day is it?", "How many people are visible?"]


def _caption(rng: random.Random) -> str:
    a, b = rng.choice(NOUNS), rng.choice(NOUNS)
    forms = [
        f"A {rng.choice(COLORS)} {a} {rng.choice(VERBS)} a {b}.",
        f"The {a} is {rng.choice(VERBS)} the {rng.choice(COLORS)} {b}.",
        f"Two {a}s and {rng.randint(3, 12)} {b}s in a {rng.choice(['park', 'city', 'garden', 'street'])}.",
        f"{rng.choice(SOUNDS)} while a {a} is nearby.",
        f"{rng.choice(MOTIONS)}.",
    ]
    return rng.choice(forms)


def _turn(rng: random.Random) -> tuple[str, str]:
    n = rng.choice(NOUNS)
    q = rng.choice(QUESTIONS).format(n=n)
    options = "A. " + rng.choice(COLORS) + " B. " + rng.choice(COLORS) + " C. " + rng.choice(COLORS)
    prompt = rng.choice(PROMPTS).format(m=rng.choice(MEDIA), q=q, o=options, n=n + "s")
    answer = rng.choice([_caption(rng), rng.choice(COLORS), str(rng.randint(0, 2024)), rng.choice("ABC"),
                         rng.choice(["Yes", "No"]), f"It is {rng.choice(VERBS)} the {rng.choice(NOUNS)}."])
    return prompt, answer


def demo_text(n_lines: int = 6000, seed: int = 0) -> list[str]:
    """The training text: conversations in our template, bare captions and prompts, with some unicode."""
    rng = random.Random(seed)
    lines = []
    for i in range(n_lines):
        kind = i % 4
        if kind == 0:
            turns = [_turn(rng) for _ in range(rng.randint(1, 3))]
            body = "".join(f"### Human: {q}\n### Assistant: {a}\n" for q, a in turns)
            lines.append(f"{SYSTEM}\n\n{body}###")
        elif kind == 1:
            lines.append(_caption(rng))
        elif kind == 2:
            lines.append(_turn(rng)[0])
        else:
            lines.append(f"{_caption(rng)} {rng.choice(['café', 'naïve', 'über', 'déjà vu', '50 °C', '3 × 4'])}")
    return lines


def train(out: Path, vocab_size: int = 1000, seed: int = 0) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    spm.set_random_generator_seed(seed)
    # Sentences from an iterator and the model into memory: no temporary paths end up in the model's trainer spec.
    # One line per trainer sentence; newlines inside a conversation become spaces for the trainer.
    sentences = iter([line.replace("\n", " ") for line in demo_text(seed=seed)])
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=sentences,
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        split_digits=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        character_coverage=1.0,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        allow_whitespace_only_pieces=True,
        num_threads=1,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    out.write_bytes(model.getvalue())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1] / "model" / "assets" / "demo_tokenizer.model"
    parser.add_argument("--out", type=Path, default=default)
    parser.add_argument("--vocab", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = train(args.out, args.vocab, args.seed)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
