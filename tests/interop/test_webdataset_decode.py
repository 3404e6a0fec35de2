"""Plain webdataset pipelines with our decoders: faithful arrays and OneLLM's model tensors for every modality."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pyarrow.parquet as pq
import torch
import webdataset as wds
from PIL import Image

from onellm_data.codecs import SHAPES, decode
from onellm_data.interop.wds_decode import ModelInputs, decode_arrays, to_model_inputs


def _urls(corpus, modality):
    return sorted(str(p) for p in corpus.glob(f"{modality}/*/*.tar"))


def _members(corpus, key):
    index = pq.read_table(corpus / "index" / "samples.parquet").to_pandas().set_index("key")
    out = {}
    with tarfile.open(corpus / index.loc[key, "shard"]) as tar:
        for ext in index.loc[key, "members"]:
            out[ext] = tar.extractfile(f"{key}.{ext}").read()
    return out


def test_depth_map_stays_sixteen_bit_where_pil_saturates(sample_corpus):
    samples = list(wds.WebDataset(_urls(sample_corpus, "depth"), shardshuffle=False).decode(decode_arrays))
    sixteen_bit = [s for s in samples if s["depth.png"].dtype == np.uint16]
    assert sixteen_bit, "the sample corpus holds 16-bit depth maps"
    for s in sixteen_bit:
        stored = np.asarray(Image.open(io.BytesIO(_members(sample_corpus, s["__key__"])["depth.png"])))
        np.testing.assert_array_equal(s["depth.png"], stored)
        assert s["depth.png"].max() > 255 and s["jpg"].dtype == np.uint8 and s["jpg"].shape[2] == 3
    # What the stock decoder does to the same member (the reason ours exists): 8-bit RGB, every value above
    # 255 white.
    pil = {s["__key__"]: s for s in wds.WebDataset(_urls(sample_corpus, "depth"), shardshuffle=False).decode("pil")}
    for s in sixteen_bit:
        stock = pil[s["__key__"]]["depth.png"]
        assert stock.mode == "RGB"
        rgb = np.asarray(stock)
        assert rgb.dtype == np.uint8 and (rgb[s["depth.png"] > 255] == 255).all()


def test_arrays_of_every_other_member_kind(sample_corpus):
    point = next(iter(wds.WebDataset(_urls(sample_corpus, "point"), shardshuffle=False).decode(decode_arrays)))
    assert point["npy"].shape == (8192, 6) and point["npy"].dtype == np.float32
    assert point["json"]["modality"] == "point"
    audio = list(wds.WebDataset(_urls(sample_corpus, "audio"), shardshuffle=False).decode(decode_arrays))
    assert {ext for s in audio for ext in s if ext in ("wav", "flac")} == {"wav", "flac"}
    for s in audio:
        ext = "wav" if "wav" in s else "flac"
        assert s[ext]["array"].dtype == np.float32 and s[ext]["array"].ndim == 2
        assert s[ext]["sampling_rate"] == s["json"]["meta"]["sample_rate"]
    video = next(iter(wds.WebDataset(_urls(sample_corpus, "video"), shardshuffle=False).decode(decode_arrays)))
    assert isinstance(video["mp4"], bytes)  # left for the next handler or for ModelInputs


def test_model_tensors_for_every_modality(sample_corpus):
    for modality in ("image", "video", "audio", "point", "depth", "normal", "imu", "fmri", "text"):
        samples = list(wds.WebDataset(_urls(sample_corpus, modality), shardshuffle=False).map(to_model_inputs))
        assert samples, modality
        for s in samples[:3]:
            assert s["modality"] == modality and s["conversations"][0]["from"] == "human"
            if modality == "text":
                assert s["media"] is None
                continue
            assert tuple(s["media"].shape) == SHAPES[modality]
            members = {k: v for k, v in _members(sample_corpus, s["__key__"]).items() if k != "json"}
            torch.testing.assert_close(s["media"], decode(modality, members), rtol=0, atol=0)


def test_arrays_equal_the_tar_members_for_every_modality(sample_corpus):
    """Each member ``decode_arrays`` handles equals that member of the tar read directly; video stays its bytes."""
    import json

    import soundfile as sf

    for modality in ("image", "video", "audio", "point", "depth", "normal", "imu", "fmri", "text"):
        samples = list(wds.WebDataset(_urls(sample_corpus, modality), shardshuffle=False).decode(decode_arrays))
        assert samples, modality
        for s in samples:
            stored = _members(sample_corpus, s["__key__"])
            assert {k for k in s if not k.startswith("__")} == set(stored), s["__key__"]
            for ext, data in stored.items():
                got = s[ext]
                if ext == "json":
                    assert got == json.loads(data)
                elif ext in ("depth.png", "normal.png"):
                    np.testing.assert_array_equal(got, np.asarray(Image.open(io.BytesIO(data))))
                elif ext in ("jpg", "png", "webp"):
                    assert got.dtype == np.uint8 and got.ndim == 3 and got.shape[2] == 3
                    np.testing.assert_array_equal(got, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
                elif ext == "npy":
                    want = np.load(io.BytesIO(data))
                    assert got.dtype == want.dtype and got.shape == want.shape
                    np.testing.assert_array_equal(got, want)
                elif ext in ("wav", "flac"):
                    wav, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
                    assert got["sampling_rate"] == rate
                    np.testing.assert_array_equal(got["array"], wav.T)
                else:
                    assert ext == "mp4" and got == data, ext


def test_model_inputs_carry_every_conversation_stored_with_the_media(sample_corpus):
    """A stored sample with several items (one COCO image, all its captions) yields each item's conversation."""
    import json

    index = pq.read_table(sample_corpus / "index" / "samples.parquet").to_pandas()
    items = index.groupby("stored_key")["key"].count()
    grouped = set(items[items > 1].index)
    assert grouped, "the sample corpus holds stored samples with several items"
    seen = 0
    for s in wds.WebDataset(_urls(sample_corpus, "image"), shardshuffle=False).map(to_model_inputs):
        record = json.loads(_members(sample_corpus, s["__key__"])["json"])
        assert s["conversations"] == record["conversations"]
        assert s["more_conversations"] == [m["conversations"] for m in record.get("more_conversations", [])]
        assert 1 + len(s["more_conversations"]) == items[s["__key__"]]
        seen += s["__key__"] in grouped
    assert seen


def test_training_augmentation_applies_and_depends_on_seed_and_key():
    """``ModelInputs(train=True, seed=…)`` really augments (unlike ``to_model_inputs``): the crop depends on the
    seed and the sample's key, and repeats for the same pair."""
    import json

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(buf, format="PNG")

    def sample(key):
        record = {"key": key, "modality": "image", "source": "demo",
                  "conversations": [{"from": "human", "value": "<image>"}, {"from": "gpt", "value": "noise"}]}
        return {"__key__": key, "json": json.dumps(record).encode(), "png": buf.getvalue()}

    def media(fn, key="demo-a"):
        return fn(sample(key))["media"]

    plain = media(to_model_inputs)
    assert not torch.equal(plain, media(ModelInputs(train=True, seed=0)))
    assert torch.equal(media(ModelInputs(train=True, seed=0)), media(ModelInputs(train=True, seed=0)))
    assert not torch.equal(media(ModelInputs(train=True, seed=0)), media(ModelInputs(train=True, seed=1)))
    assert not torch.equal(media(ModelInputs(train=True, seed=0)), media(ModelInputs(train=True, seed=0), "demo-b"))
    assert torch.equal(plain, media(ModelInputs()))
