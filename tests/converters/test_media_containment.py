"""Converters never read media from outside the source's raw folder: absolute paths, ``../`` escapes and
symlinks leading out are rejects with one reason; in-tree symlinks and explicitly allowed roots still work."""

import json
import shutil

import pytest

from onellm_data.converters import make_converter
from onellm_data.converters._rejects import OUTSIDE_ROOT
from onellm_data.pipeline import run_conversion
from onellm_data.samples import sample_sources
from tests.conftest import make_jpeg
from tests.converters.instruct_helpers import SETTINGS, index, sample_raw

TURNS = [{"from": "human", "value": "<image>\nWhat is shown?"}, {"from": "gpt", "value": "noise"}]


def _reasons(corpus):
    rejects = index(corpus, "rejects")
    return dict(zip(rejects.source_id, rejects.reason))


@pytest.fixture
def jsonl_tree(tmp_path):
    raw, outside = tmp_path / "raw", tmp_path / "outside"
    (raw / "media").mkdir(parents=True)
    outside.mkdir()
    (raw / "media" / "good.jpg").write_bytes(make_jpeg(1))
    (outside / "secret.jpg").write_bytes(make_jpeg(2))
    (raw / "media" / "alias.jpg").symlink_to(raw / "media" / "good.jpg")  # a link that stays inside
    (raw / "media" / "leak.jpg").symlink_to(outside / "secret.jpg")
    (raw / "media" / "linked_dir").symlink_to(outside, target_is_directory=True)
    rows = {"good": "media/good.jpg", "alias": "media/alias.jpg", "absolute": str(outside / "secret.jpg"),
            "dotdot": "../outside/secret.jpg", "link": "media/leak.jpg", "dir_link": "media/linked_dir/secret.jpg"}
    lines = [json.dumps({"id": k, "modality": "image", "media": {"jpg": v}, "conversations": TURNS})
             for k, v in rows.items()]
    (raw / "samples.jsonl").write_text("\n".join(lines) + "\n")
    return raw, outside


def test_jsonl_rejects_every_way_out(tmp_path, jsonl_tree):
    raw, _ = jsonl_tree
    summary = run_conversion(make_converter("jsonl", raw), tmp_path / "corpus", SETTINGS)
    assert summary.samples == 2
    assert sorted(index(tmp_path / "corpus").source_id) == ["alias", "good"]
    reasons = _reasons(tmp_path / "corpus")
    assert reasons == {k: OUTSIDE_ROOT for k in ("absolute", "dotdot", "link", "dir_link")}


def test_an_allowed_root_lets_linked_media_in(tmp_path, jsonl_tree):
    raw, outside = jsonl_tree
    conv = make_converter("jsonl", raw, allow_root=str(outside))
    summary = run_conversion(conv, tmp_path / "corpus", SETTINGS)
    assert summary.samples == 6


def test_import_onellm_refuses_escaping_ids_paths_and_links(tmp_path):
    raw = sample_raw(tmp_path, "onellm_release")
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("uid1.npy", "uid1_timestamps.npy"):  # a valid recording: the old code packed it
        shutil.copy(raw / "imu/processed_imu" / name, outside / name)
    shutil.copy(raw / "image/coco/train2017/000000000001.jpg", outside / "secret.jpg")
    (raw / "image/coco/train2017/leak.jpg").symlink_to(outside / "secret.jpg")
    imu = json.loads((raw / "imu/imu_fixed_50k.json").read_text())[0]
    items = [{**imu, "video_uid": "../../../../outside/uid1"}, imu]
    (raw / "imu/imu_fixed_50k.json").write_text(json.dumps(items))
    image = {"id": "x", "conversations": TURNS}
    images = [{**image, "image": "../outside/secret.jpg"}, {**image, "image": "image/coco/train2017/leak.jpg"},
              {**image, "image": "image/coco/train2017/000000000001.jpg"}]
    (raw / "image/cococap_train.json").write_text(json.dumps(images))
    conv = make_converter("onellm_release", raw, media_root=str(raw))
    run_conversion(conv, tmp_path / "corpus", SETTINGS)
    reasons = _reasons(tmp_path / "corpus")
    for source_id in ("imu_fixed_50k-0", "cococap_train-0", "cococap_train-1"):
        assert reasons[source_id] == OUTSIDE_ROOT
    kept = set(index(tmp_path / "corpus").source_id)
    assert {"imu_fixed_50k-1", "cococap_train-2"} <= kept


@pytest.mark.parametrize("source", sorted(sample_sources()))
def test_no_converter_follows_links_out_of_its_folder(tmp_path, source):
    """Every file of a bundled sample tree moved outside and linked back: no media may get in."""
    raw = tmp_path / "raw" / source
    raw.mkdir(parents=True)
    sample_sources()[source](raw)
    outside = tmp_path / "outside"
    for path in sorted(p for p in raw.rglob("*") if p.is_file() and not p.is_symlink()):
        target = outside / path.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        path.symlink_to(target)
    summary = run_conversion(make_converter(source, raw), tmp_path / "corpus", SETTINGS)
    samples = index(tmp_path / "corpus")
    assert set(samples.modality) <= {"text"}, f"{source} packed media read through a link out of its folder"
    assert summary.rejects[OUTSIDE_ROOT] >= 1
