"""Hugging Face ``datasets`` reads every sample of the corpus, per modality and all at once, with no member lost."""

from __future__ import annotations

import io

import numpy as np
import pyarrow.parquet as pq
import pytest

from onellm_data.interop.hf import hf_features, one_row_per_conversation, shard_files

MODALITIES = ["image", "video", "audio", "point", "depth", "normal", "imu", "fmri", "text"]


def _load(files, cache, features=None):
    from datasets import load_dataset

    return load_dataset("webdataset", data_files={"train": files}, split="train", features=features,
                        cache_dir=str(cache))


def _index(corpus):
    return pq.read_table(corpus / "index" / "samples.parquet").to_pandas()


def _assert_every_member_present(ds, index):
    """One HF row per stored sample; expanded, one per index row (item)."""
    assert len(ds) == index["stored_key"].nunique()
    expanded = ds.map(one_row_per_conversation, batched=True, batch_size=7)
    assert len(expanded) == len(index)
    assert sorted(expanded["__key__"]) == sorted(index["key"])
    # Each item gets its own conversation, not a copy of the stored sample's first one.
    answers = {row["__key__"]: row["json"]["conversations"][-1]["value"] for row in expanded}
    for _, rows in index[index.duplicated("stored_key", keep=False)].groupby("stored_key"):
        assert len({answers[k] for k in rows["key"]}) > 1
    for row in ds:
        members = row["json"]["members"]
        assert (members or row["json"]["modality"] == "text") and all(row[m] is not None for m in members)


def test_every_shard_holds_one_member_signature(sample_corpus):
    """The sample corpus has JPEG and PNG images, wav and flac audio in the same source: never in one shard."""
    index = _index(sample_corpus)
    signatures = index.assign(sig=index["members"].map(tuple)).groupby("shard")["sig"].nunique()
    assert (signatures == 1).all(), signatures[signatures > 1]
    assert index.groupby("stored_key")["conversation"].max().max() > 0  # the corpus holds grouped items
    per_modality = index.assign(sig=index["members"].map(tuple)).groupby("modality")["sig"].nunique()
    assert per_modality["image"] >= 2 and per_modality["audio"] >= 2  # the case is really exercised


def test_each_shard_loads_alone_without_declared_features(sample_corpus, hf_offline):
    """HF infers columns from a shard's first samples: with homogeneous shards that loses nothing.
    (Audio is left out: HF's ``Audio`` feature needs torchcodec just to store bytes.)"""
    index = _index(sample_corpus)
    for shard, rows in index[index["modality"].isin(["image", "depth", "point"])].groupby("shard"):
        ds = _load([str(sample_corpus / shard)], hf_offline)
        _assert_every_member_present(ds, rows)


@pytest.mark.parametrize("modality", MODALITIES)
def test_each_modality_loads_with_every_member(sample_corpus, hf_offline, modality):
    index = _index(sample_corpus)
    rows = index[index["modality"] == modality]
    ds = _load(shard_files(sample_corpus, modality), hf_offline, hf_features(sample_corpus, modality))
    _assert_every_member_present(ds, rows)


def test_whole_corpus_loads_at_once(sample_corpus, hf_offline):
    from PIL import Image

    index = _index(sample_corpus)
    ds = _load(shard_files(sample_corpus), hf_offline, hf_features(sample_corpus))
    _assert_every_member_present(ds, index)
    by_key = {row["__key__"]: row for row in ds}
    # Values survive: a 16-bit depth map stays 16-bit, an fMRI float16 array keeps its values, audio its bytes.
    depth_key = index[index["modality"] == "depth"]["key"].iloc[0]
    depth = np.asarray(by_key[depth_key]["depth.png"])
    assert depth.dtype != np.uint8 and depth.max() > 255
    original = Image.open(io.BytesIO(_member(sample_corpus, index, depth_key, "depth.png")))
    np.testing.assert_array_equal(depth, np.asarray(original))
    fmri_key = index[index["modality"] == "fmri"]["key"].iloc[0]
    stored = np.load(io.BytesIO(_member(sample_corpus, index, fmri_key, "npy")))
    np.testing.assert_array_equal(np.asarray(by_key[fmri_key]["npy"], np.float32), stored.astype(np.float32))
    audio = index[index["modality"] == "audio"].iloc[0]
    ext = [m for m in audio["members"] if m != "json"][0]
    assert by_key[audio["key"]][ext] == _member(sample_corpus, index, audio["key"], ext)
    meta_keys = {k for row in ds for k, v in row["json"]["meta"].items() if v is not None}
    assert {"width", "sample_rate", "task"} <= meta_keys


def _member(corpus, index, key, ext):
    import tarfile

    shard = index.set_index("key").loc[key, "shard"]
    with tarfile.open(corpus / shard) as tar:
        return tar.extractfile(f"{key}.{ext}").read()


def test_video_shard_without_features_reads_bytes_after_cast(sample_corpus, hf_offline):
    """The README recipe for HF's torchcodec-only video decoding: keep the bytes with ``decode=False``."""
    from datasets import Video

    index = _index(sample_corpus)
    shard = index[index["modality"] == "video"]["shard"].iloc[0]
    ds = _load([str(sample_corpus / shard)], hf_offline).cast_column("mp4", Video(decode=False))
    row = ds[0]
    assert row["mp4"]["bytes"] == _member(sample_corpus, index, row["__key__"], "mp4")


def test_meta_keys_typed_differently_across_sources_load_as_text(tmp_path, hf_offline):
    """One source stores ``rating`` as a number and ``tags`` as a list, another as text: the features declare
    both strings, the load succeeds, and every value is kept (as its text); consistent keys keep their type."""
    import json

    from datasets import Value

    from onellm_data.converters import make_converter
    from onellm_data.pipeline import ShardSettings, run_conversion

    corpus = tmp_path / "corpus"
    metas = {"numbers": [{"rating": 5, "tags": ["a", "b"], "votes": 3}, {"rating": 4.5, "tags": ["c"], "votes": 1}],
             "words": [{"rating": "five", "tags": "a", "votes": 7}]}
    for source, rows in metas.items():
        raw = tmp_path / source
        raw.mkdir()
        lines = [{"id": f"{source}{i}", "modality": "text", "meta": meta,
                  "conversations": [{"from": "human", "value": "Rate it."}, {"from": "gpt", "value": str(i)}]}
                 for i, meta in enumerate(rows)]
        (raw / "samples.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
        run_conversion(make_converter("jsonl", raw, source=source), corpus, ShardSettings(max_count=8))
    features = hf_features(corpus)
    meta = features["json"]["meta"]
    assert meta["rating"] == Value("string") and meta["tags"] == Value("string") and meta["votes"] == Value("int64")
    ds = _load(shard_files(corpus), hf_offline, features)
    values = sorted((m["rating"], m["tags"], m["votes"]) for m in (row["json"]["meta"] for row in ds))
    assert values == [("4.5", "['c']", 1), ("5", "['a', 'b']", 3), ("five", "a", 7)]


def test_audio_is_bytes_video_a_bytes_path_dict_and_npy_nested_lists(sample_corpus, hf_offline):
    """The declared features that work without torchcodec, and what a row holds for each."""
    from datasets import Audio, Value, Video

    index = _index(sample_corpus)
    features = hf_features(sample_corpus)
    audio_exts = {m for ms in index[index["modality"] == "audio"]["members"] for m in ms} - {"json"}
    assert audio_exts and all(features[ext] == Value("binary") for ext in audio_exts)
    assert features["mp4"] == Video(decode=False)
    decoding = hf_features(sample_corpus, decode_media=True)
    assert all(decoding[ext] == Audio() for ext in audio_exts) and decoding["mp4"] == Video(decode=True)

    first = index[index["conversation"] == 0]  # the item whose key names the tar sample
    video = first[first["modality"] == "video"].iloc[0]
    ds = _load(shard_files(sample_corpus, "video"), hf_offline, hf_features(sample_corpus, "video"))
    row = next(r for r in ds if r["__key__"] == video["key"])
    assert set(row["mp4"]) == {"bytes", "path"}
    assert row["mp4"]["bytes"] == _member(sample_corpus, index, video["key"], "mp4")
    point = first[first["modality"] == "point"].iloc[0]
    ds = _load(shard_files(sample_corpus, "point"), hf_offline, hf_features(sample_corpus, "point"))
    npy = next(r for r in ds if r["__key__"] == point["key"])["npy"]
    assert isinstance(npy, list) and isinstance(npy[0], list) and isinstance(npy[0][0], float)
    stored = np.load(io.BytesIO(_member(sample_corpus, index, point["key"], "npy")))
    np.testing.assert_array_equal(np.asarray(npy, np.float32), stored)
