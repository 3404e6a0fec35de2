import json

import pandas as pd

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters import make_converter
from onellm_data.converters.wavcaps import file_stem, part_of
from onellm_data.samples.alignment_media import EXPECTED, tone, write_wavcaps
from tests.conftest import realdata

SETTINGS = ShardSettings(partition_size=3)


def test_parts_and_file_names(tmp_path):
    assert part_of(tmp_path / "json_files/BBC_Sound_Effects/bbc_final.json") == ("BBC_Sound_Effects", "bbc")
    assert part_of(tmp_path / "json_files/FreeSound/fsd_final.json") == ("FreeSound", "fsd")
    assert part_of(tmp_path / "json_files/AudioSet_SL/as_final.json") == ("AudioSet_SL", "as")
    assert file_stem("Y---1_cCGK4M.wav") == "Y---1_cCGK4M" and file_stem("180913") == "180913"


def test_sample_tree_converts_with_rejects(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    write_wavcaps(raw)
    summary = run_conversion(make_converter("wavcaps", raw), tmp_path / "c", SETTINGS)
    assert summary.samples == EXPECTED["wavcaps"]["samples"]
    assert dict(summary.rejects) == EXPECTED["wavcaps"]["rejects"]
    samples = pd.read_parquet(tmp_path / "c/index/samples.parquet").set_index("source_id")
    assert sorted(samples.index) == ["as-Yabc-DEF_123", "as-Ymotor_00042", "sb-101", "sb-102"]
    assert samples.loc["as-Ymotor_00042", "duration"] == 1.25
    assert samples.loc["sb-101", "sample_rate"] == 16000


def test_bbc_and_freesound_items(tmp_path):
    """The other two parts' item keys (BBC: description/category; FreeSound: file_name/tags), integer ids."""
    raw = tmp_path / "raw"
    for part, stem, items in [
        ("BBC_Sound_Effects", "bbc_final", [{"id": "07075166", "description": "Birds", "category": "['Nature']",
                                             "caption": "Birds chirp.", "audio": "wav_path", "duration": 2.0}]),
        ("FreeSound", "fsd_final", [{"id": 180913, "file_name": "x.wav", "href": "h", "tags": ["a"],
                                     "author": "b", "description": "d", "caption": "A door creaks.",
                                     "audio": "wav_path", "duration": 1}]),
    ]:
        (raw / "json_files" / part).mkdir(parents=True)
        (raw / "json_files" / part / f"{stem}.json").write_text(json.dumps({"num_captions_per_audio": 1, "data": items}))
    tone(raw / "audio" / "BBC_Sound_Effects" / "07075166.flac", 0.5, 300)
    tone(raw / "audio" / "FreeSound" / "180913.flac", 0.5, 600)
    summary = run_conversion(make_converter("wavcaps", raw), tmp_path / "c", SETTINGS)
    assert summary.samples == 2 and not summary.rejects
    keys = set(pd.read_parquet(tmp_path / "c/index/samples.parquet").key)
    assert keys == {"wavcaps-bbc-07075166", "wavcaps-fsd-180913"}


def test_realdata_soundbible_json(tmp_path):
    path = realdata("wavcaps/sb_final.json")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "sb_final.json").symlink_to(path)
    records = list(make_converter("wavcaps", raw).records())
    items = json.loads(path.read_text())["data"]
    assert len(records) == len(items) == 1232
    assert [r["caption"] for r in records] == [i["caption"].strip() for i in items]
    assert len({r["source_id"] for r in records}) == 1232 and records[0]["source_id"] == "sb-2219"
    assert all(type(r["listed_duration"]) in (int, float) for r in records)  # ijson Decimals were turned to floats
    assert {r["part"] for r in records} == {"SoundBible"}
    summary = run_conversion(make_converter("wavcaps", raw), tmp_path / "c", ShardSettings(partition_size=500))
    assert summary.samples == 0 and dict(summary.rejects) == {"missing media file": 1232}


def test_blacklist_leaves_out_eval_overlaps(tmp_path):
    """WavCaps' own overlap list (FreeSound and AudioSet ids) is applied by default and can be turned off."""
    raw = tmp_path / "raw"
    items = {"FreeSound": [{"id": 180913, "caption": "Rain falls.", "duration": 1.0},
                           {"id": 180914, "caption": "Wind blows.", "duration": 1.0}],
             "AudioSet_SL": [{"id": "Yabc.wav", "caption": "A dog barks.", "duration": 1.0}]}
    for part, stem in (("FreeSound", "fsd_final"), ("AudioSet_SL", "as_final")):
        folder = raw / "json_files" / part
        folder.mkdir(parents=True)
        (folder / f"{stem}.json").write_text(json.dumps({"num_captions_per_audio": 1, "data": items[part]}))
    (raw / "json_files/blacklist").mkdir()
    (raw / "json_files/blacklist/blacklist_exclude_all_ac.json").write_text(
        json.dumps({"FreeSound": [180914], "AudioSet": ["Yabc.wav"]}))
    records = list(make_converter("wavcaps", raw).records())
    rejected = {r["source_id"]: r["_reject"] for r in records if "_reject" in r}
    assert rejected == {"fsd-180914": "blacklisted (overlaps an evaluation set)",
                        "as-Yabc": "blacklisted (overlaps an evaluation set)"}
    assert [r["source_id"] for r in records if "_reject" not in r] == ["fsd-180913"]
    assert not any("_reject" in r for r in make_converter("wavcaps", raw, blacklist="none").records())
