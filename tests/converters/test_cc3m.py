import json
import shutil
import tarfile

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters import make_converter
from onellm_data.samples.alignment_media import CC3M_ROWS, EXPECTED, write_cc3m, write_img2dataset

SETTINGS = ShardSettings(partition_size=4)


def captions(corpus):
    out = {}
    for tar_path in sorted(corpus.glob("image/cc3m/*.tar")):
        with tarfile.open(tar_path) as tar:
            for m in tar:
                if m.name.endswith(".json"):
                    rec = json.loads(tar.extractfile(m).read())
                    out[rec["source_id"]] = rec["conversations"][1]["value"]
    return out


def test_sample_tree_converts_with_rejects(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    write_cc3m(raw)
    summary = run_conversion(make_converter("cc3m", raw), tmp_path / "c", SETTINGS)
    assert summary.samples == EXPECTED["cc3m"]["samples"]
    assert dict(summary.rejects) == EXPECTED["cc3m"]["rejects"]
    got = captions(tmp_path / "c")
    # TSV lines keep their quotes (no CSV quoting); the line after the malformed one keeps its position
    assert got == {"000000000": CC3M_ROWS[0][0], "000000001": CC3M_ROWS[1][0], "000000004": CC3M_ROWS[4][0],
                   "000000006": CC3M_ROWS[5][0]}


def test_img2dataset_header_line_is_not_a_row(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = [("a dog", "http://x/1.jpg"), ("a tree", "http://x/2.jpg")]
    (raw / "cc3m.tsv").write_text("caption\turl\n" + "".join(f"{c}\t{u}\n" for c, u in rows))
    write_img2dataset(raw / "images", [(u, c) for c, u in rows], "webdataset")
    summary = run_conversion(make_converter("cc3m", raw), tmp_path / "c", SETTINGS)
    assert summary.samples == 2 and not summary.rejects
    assert captions(tmp_path / "c") == {"000000000": "a dog", "000000001": "a tree"}


def test_missing_image_folder_rejects_every_row(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "Train_GCC-training.tsv").write_text("a cat\thttp://x/1.jpg\nan owl\thttp://x/2.jpg\n")
    summary = run_conversion(make_converter("cc3m", raw), tmp_path / "c", SETTINGS)
    assert summary.samples == 0 and dict(summary.rejects) == {"missing media file": 2}


def test_retry_rejects_picks_up_later_downloads(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = [("a cat", "http://x/1.jpg"), ("an owl", "http://x/2.jpg")]
    (raw / "Train_GCC-training.tsv").write_text("".join(f"{c}\t{u}\n" for c, u in rows))
    write_img2dataset(raw / "images", [(u, c) for c, u in rows], "files", missing=frozenset({1}))
    first = run_conversion(make_converter("cc3m", raw), tmp_path / "c", SETTINGS)
    assert first.samples == 1 and dict(first.rejects) == {"missing media file": 1}
    shutil.rmtree(raw / "images")
    write_img2dataset(raw / "images", [(u, c) for c, u in rows], "files")  # the retried download succeeded
    again = run_conversion(make_converter("cc3m", raw), tmp_path / "c", SETTINGS, retry_rejects=True)
    assert again.samples == 2 and not again.rejects
