import numpy as np
import pytest

from onellm_data.converters import make_converter
from tests.converters.sensor_helpers import convert, index, members, npy, record, sample_tree


def test_records_from_nsd_stim_info(tmp_path):
    raw = sample_tree(tmp_path, "nsd_fmri_align")
    found = list(make_converter("nsd_fmri_align", raw).records())
    good = {r["source_id"]: r for r in found if "_reject" not in r}
    # nsdId 2 is a shared-1000 (test) image, nsdId 3 was not shown to subj01
    assert list(good) == ["nsd00000", "nsd00001", "nsd00004"]
    assert good["nsd00000"]["trials"] == [[1, 0], [1, 3], [1, 5]]
    assert good["nsd00001"]["trials"] == [[1, 1], [1, 4]]  # rep 2 = 0: never recorded
    assert good["nsd00004"]["trials"] == [[2, 0], [2, 1], [2, 2]]
    assert [r["_reject"] for r in found if "_reject" in r] == ["unknown id reference"]


def test_conversion_from_nifti(tmp_path):
    raw = sample_tree(tmp_path, "nsd_fmri_align")
    summary = convert("nsd_fmri_align", raw, tmp_path / "c")
    assert summary.samples == 2
    assert dict(summary.rejects) == {"unknown id reference": 1, "missing media file": 1}
    df = index(tmp_path / "c").set_index("source_id")
    assert df.loc["nsd00000", "fmri_reps"] == 3 and df.loc["nsd00001", "fmri_reps"] == 2
    blobs = members(tmp_path / "c")["nsd_fmri_align-nsd00000"]
    rec = record(blobs)
    assert rec["conversations"] == [{"from": "human", "value": "<fmri>"},
                                    {"from": "gpt", "value": "A giraffe standing next to a tree."}]
    assert rec["meta"]["task"] == "caption"
    assert npy(blobs["npy"]).shape == (3, 15724)
