"""The conversion check costs no second decode: each codec's prepare step proves the very members it decoded, so
``check_sample`` decodes nothing for any modality; with the proofs ignored, every media sample is decoded again."""

from collections import Counter

import pandas as pd
import pytest

import onellm_data.codecs.check as check
from onellm_data.converters import make_converter
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.samples import sample_sources


@pytest.fixture
def decodes(monkeypatch):
    calls = Counter()
    real = check.decode

    def counting(modality, members, train=False):
        calls[modality] += 1
        return real(modality, members, train=train)

    monkeypatch.setattr(check, "decode", counting)
    return calls


def _convert(tmp_path, name):
    raw = tmp_path / "raw"
    raw.mkdir()
    sample_sources()["onellm_release"](raw)  # one or two items of every modality
    run_conversion(make_converter("onellm_release", raw), tmp_path / name, ShardSettings(partition_size=64))
    samples = pd.read_parquet(tmp_path / name / "index" / "samples.parquet")
    return samples[samples.modality != "text"].groupby("modality").stored_key.nunique().to_dict()


def test_no_modality_is_decoded_twice_at_conversion(tmp_path, decodes):
    stored = _convert(tmp_path, "c")
    assert set(stored) == {"image", "video", "audio", "point", "depth", "normal", "imu", "fmri"}
    assert decodes == Counter()


def test_without_the_proofs_the_check_decodes_every_media_sample(tmp_path, decodes, monkeypatch):
    monkeypatch.setattr(check._PROOFS, "take", lambda modality, members: False)
    stored = _convert(tmp_path, "c")
    assert {m: decodes[m] for m in stored} == stored  # the counter sees the conversion's checks
