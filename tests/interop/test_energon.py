"""Megatron-Energon reads every modality of the corpus through get_train_dataset / get_loader, as model tensors."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import torch
from megatron.energon import WorkerConfig, get_loader, get_train_dataset
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.codecs import SHAPES
from onellm_data.interop.energon import OnellmTaskEncoder
from onellm_data.verify import verify

MODALITIES = ["image", "video", "audio", "point", "depth", "normal", "imu", "fmri", "text"]


@pytest.fixture(scope="module")
def energon_corpus(sample_corpus):
    result = CliRunner().invoke(app, ["energon", str(sample_corpus)])
    assert result.exit_code == 0, result.output
    return sample_corpus


def test_metadata_written_and_verify_ignores_it(energon_corpus):
    for modality in MODALITIES:
        meta = energon_corpus / modality / ".nv-meta"
        for name in ("dataset.yaml", "split.yaml", "index.sqlite", "sample_loader.py"):
            assert (meta / name).is_file(), meta / name
    assert list(energon_corpus.glob("*/*/*.tar.idx"))  # Energon's per-shard indexes beside the tars
    report = verify(energon_corpus)
    assert report.ok, report.problems


@pytest.mark.parametrize("modality", MODALITIES)
def test_every_modality_reads_as_model_tensors(energon_corpus, modality):
    index = pq.read_table(energon_corpus / "index" / "samples.parquet").to_pandas()
    stored = index[index["modality"] == modality].drop_duplicates("stored_key")
    ds = get_train_dataset(energon_corpus / modality, batch_size=2, shuffle_buffer_size=None,
                           max_samples_per_sequence=None, worker_config=WorkerConfig(rank=0, world_size=1, num_workers=0),
                           task_encoder=OnellmTaskEncoder(), repeat=False)
    seen = []
    items = {}  # stored sample → how many items its conversations make
    for batch in get_loader(ds):
        assert set(batch.modality) == {modality}
        seen.extend(batch.__key__)
        for key, more in zip(batch.__key__, batch.more_conversations):
            items[key.rsplit("/", 1)[-1]] = 1 + len(more)
            assert all(c[0]["from"] == "human" for c in more)
        if modality == "text":
            assert batch.media is None or all(m is None for m in batch.media)
        else:
            assert isinstance(batch.media, torch.Tensor)
            assert tuple(batch.media.shape[1:]) == SHAPES[modality]
        assert all(c[0]["from"] == "human" for c in batch.conversations)
    assert sorted(k.rsplit("/", 1)[-1] for k in seen) == sorted(stored["stored_key"])
    # Every item reaches the batch: further items stored with the same media come as more_conversations.
    assert items == index[index["modality"] == modality].groupby("stored_key")["key"].count().to_dict()


def test_command_writes_only_the_modalities_asked_for(tmp_path):
    from tests.interop.conftest import build_sample_corpus

    corpus = build_sample_corpus(tmp_path, ["coco_captions", "audiocaps"])
    result = CliRunner().invoke(app, ["energon", str(corpus), "--modality", "audio"])
    assert result.exit_code == 0, result.output
    assert (corpus / "audio" / ".nv-meta" / "dataset.yaml").is_file()
    assert not (corpus / "image" / ".nv-meta").exists()
    missing = CliRunner().invoke(app, ["energon", str(corpus), "--modality", "point"])
    assert missing.exit_code == 2 and "has no point shards" in missing.output


def test_loader_refuses_members_energon_already_decoded():
    from onellm_data.interop.energon import sample_loader

    with pytest.raises(TypeError, match="auto_decode=False or task_encoder=OnellmTaskEncoder"):
        sample_loader({"__key__": "k", "json": {"modality": "depth"}, "depth.png": torch.zeros(3, 4, 4)})


def test_readme_snippet_gives_batches_of_eight_depth_pairs(energon_corpus):
    """The README's call, as written (default worker config, shuffling, infinite train dataset)."""
    ds = get_train_dataset(str(energon_corpus / "depth"), batch_size=8, shuffle_buffer_size=100,
                           max_samples_per_sequence=100, worker_config=WorkerConfig.default_worker_config(),
                           task_encoder=OnellmTaskEncoder())
    batch = next(iter(get_loader(ds)))
    assert tuple(batch.media.shape) == (8, 2, 3, 224, 224)
    assert len(batch.conversations) == len(batch.more_conversations) == 8
