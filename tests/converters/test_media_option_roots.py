"""A media-folder option (``-o images=DIR``) names a second allowed root, as ``-o allow_root`` does: the folder may
live outside the raw folder, and a link leading out of every allowed root is still refused."""

import shutil

from onellm_data.converters._rejects import OUTSIDE_ROOT
from tests.converters.instruct_helpers import convert, index, sample_raw


def test_images_option_outside_the_raw_folder_is_an_allowed_root(tmp_path):
    raw = sample_raw(tmp_path, "coco_captions")
    reference = convert(raw, tmp_path / "reference", "coco_captions")
    assert reference.samples > 0
    elsewhere = tmp_path / "mnt" / "coco_images"
    shutil.move(raw / "train2017", elsewhere)
    (raw / "train2017").mkdir()  # the layout's folder, now empty: the images are read from the option's folder
    moved = convert(raw, tmp_path / "moved", "coco_captions", images=str(elsewhere))
    assert moved.samples == reference.samples and moved.rejects == reference.rejects
    assert sorted(index(tmp_path / "moved").key) == sorted(index(tmp_path / "reference").key)


def test_a_link_out_of_the_named_folder_is_still_refused(tmp_path):
    raw = sample_raw(tmp_path, "coco_captions")
    reference = convert(raw, tmp_path / "reference", "coco_captions")
    elsewhere, secret = tmp_path / "mnt" / "coco_images", tmp_path / "secret"
    shutil.move(raw / "train2017", elsewhere)
    (raw / "train2017").mkdir()
    secret.mkdir()
    image = sorted(elsewhere.glob("*.jpg"))[0]
    shutil.move(image, secret / image.name)
    image.symlink_to(secret / image.name)  # one image of the named folder links out of it
    summary = convert(raw, tmp_path / "c", "coco_captions", images=str(elsewhere))
    assert summary.rejects.get(OUTSIDE_ROOT, 0) >= 1 and summary.samples < reference.samples  # each caption of it
