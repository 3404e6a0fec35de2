import pandas as pd
import pytest

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters import make_converter
from onellm_data.converters.webvid import parse_iso_duration
from onellm_data.errors import AnnotationError
from onellm_data.samples.alignment_media import EXPECTED, write_webvid
from tests.conftest import realdata

SETTINGS = ShardSettings(partition_size=2)


@pytest.mark.parametrize("text,seconds", [("PT00H00M17S", 17.0), ("PT01H02M03S", 3723.0), ("PT5.5S", 5.5),
                                          ("PT", None), ("17", None), ("", None)])
def test_iso_duration(text, seconds):
    assert parse_iso_duration(text) == seconds


def test_sample_tree_converts_with_rejects(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    write_webvid(raw)
    summary = run_conversion(make_converter("webvid", raw), tmp_path / "c", SETTINGS)
    assert summary.samples == EXPECTED["webvid"]["samples"]
    assert dict(summary.rejects) == EXPECTED["webvid"]["rejects"]
    samples = pd.read_parquet(tmp_path / "c/index/samples.parquet").set_index("source_id")
    assert samples.loc["1000001", "duration"] == pytest.approx(2.0, abs=0.15)
    assert (samples.loc["1000001", "width"], samples.loc["1000001", "height"]) == (64, 48)
    assert samples.loc["1000002", "members"].tolist() == ["json", "mp4"]


def test_malformed_rows_and_non_webvid_csv(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "results_2M_val.csv").write_text(
        "videoid,name,page_idx,page_dir,duration,contentUrl\n,no id,1,000001_000050,PT00H00M02S,u\n"
        "../etc,escape,1,000001_000050,PT00H00M02S,u\n42,fine,1,../..,PT00H00M02S,u\n")
    records = list(make_converter("webvid", raw).records())
    assert [r["_reject"] for r in records] == ["malformed annotation row"] * 3
    (raw / "results_2M_val.csv").write_text("a,b\n1,2\n")
    with pytest.raises(AnnotationError, match="expected a WebVid results CSV.*found columns a, b"):
        list(make_converter("webvid", raw).records())


def test_realdata_csv_two_videos_seven_missing(tmp_path):
    raw = realdata("webvid")
    records = list(make_converter("webvid", raw).records())
    assert len(records) == 9 and records[0]["listed_duration"] == 17.0
    assert records[6]["caption"] == "Moroccan flag waving in the wind in medieval town essaouira, morocco"
    summary = run_conversion(make_converter("webvid", raw), tmp_path / "c", ShardSettings(partition_size=4))
    assert summary.samples == 2 and dict(summary.rejects) == {"missing media file": 7}
    samples = pd.read_parquet(tmp_path / "c/index/samples.parquet")
    assert sorted(samples.source_id) == ["1020335461", "6543449"]
    assert (samples.duration > 1).all() and (samples.fps > 0).all()
