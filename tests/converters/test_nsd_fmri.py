import numpy as np
import pytest

from onellm_data.converters import make_converter
from tests.converters.sensor_helpers import convert, index, members, npy, record, sample_tree


def records(raw, **options):
    return list(make_converter("nsd_fmri", raw, **options).records())


def test_records_from_mindeye_tars_and_folders(tmp_path):
    raw = sample_tree(tmp_path, "nsd_fmri")
    found = records(raw)
    good = {r["source_id"]: r for r in found if "_reject" not in r}
    # train tar (4 samples + 1 corrupt) then the extracted val folder; test is left out by default
    assert list(good) == ["sample000000012", "sample000000013", "sample000000014", "sample000000099",
                          "sample000000020"]
    assert good["sample000000013"]["coco73k"] == 1 and good["sample000000013"]["split"] == "train"
    assert good["sample000000013"]["captions"] == ["A man riding a wave on a surfboard.", "Surfer on a wave."]
    assert good["sample000000020"]["file"].endswith("val/val_subj01_0/sample000000020.nsdgeneral.npy")
    assert [(r["source_id"], r["_reject"]) for r in found if "_reject" in r] == [
        ("sample000000015", "unknown id reference")]
    assert [r["source_id"] for r in records(raw, splits="test")] == ["sample000000030"]


def test_missing_caption_table_is_an_error(tmp_path):
    raw = sample_tree(tmp_path, "nsd_fmri")
    (raw / "COCO_73k_annots_curated.npy").unlink()
    with pytest.raises(FileNotFoundError, match="COCO_73k_annots_curated"):
        records(raw)


def test_conversion(tmp_path):
    raw = sample_tree(tmp_path, "nsd_fmri")
    summary = convert("nsd_fmri", raw, tmp_path / "c")
    assert summary.samples == 4
    assert set(summary.rejects) == {"unknown id reference", *(r for r in summary.rejects if "fmri" in r or "npy" in r)}
    assert sum(summary.rejects.values()) == 2  # the unknown stimulus and the corrupt voxel file
    df = index(tmp_path / "c")
    assert (df.fmri_voxels == 15724).all() and (df.fmri_reps == 3).all()
    blobs = members(tmp_path / "c")["nsd_fmri-sample000000012"]
    rec = record(blobs)
    assert rec["conversations"] == [
        {"from": "human", "value": "<fmri>\nDescribe the scene based on fMRI data."},
        {"from": "gpt", "value": "A giraffe standing next to a tree."}]
    assert rec["meta"]["split"] == "train" and rec["meta"]["coco73k"] == 0
    voxels = npy(blobs["npy"])
    assert voxels.shape == (3, 15724) and voxels.dtype == np.float16


def test_all_captions_option(tmp_path):
    raw = sample_tree(tmp_path, "nsd_fmri")
    convert("nsd_fmri", raw, tmp_path / "c", captions="all")
    ids = set(index(tmp_path / "c").source_id)
    assert {"sample000000012-c0", "sample000000012-c1", "sample000000014-c0"} <= ids
    assert "sample000000014-c1" not in ids  # empty curated captions are skipped
