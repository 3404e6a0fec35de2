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
    # What the stock decoder does to the same member (the reason ours exists).
    pil = next(iter(wds.WebDataset(_urls(sample_corpus, "depth"), shardshuffle=False).decode("rgb8")))
    assert pil["depth.png"].dtype == np.uint8


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


def test_training_augmentation_is_seeded_per_key(sample_corpus):
    urls = _urls(sample_corpus, "image")
    first = [s["media"] for s in wds.WebDataset(urls, shardshuffle=False).map(ModelInputs(train=True, seed=3))]
    again = [s["media"] for s in wds.WebDataset(urls, shardshuffle=False).map(ModelInputs(train=True, seed=3))]
    for a, b in zip(first, again):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
