from tests.converters.sensor_helpers import convert, index, members, record, sample_tree


def test_img2dataset_folder(tmp_path):
    raw = sample_tree(tmp_path, "cc3m_normal")
    summary = convert("cc3m_normal", raw, tmp_path / "c")
    assert summary.samples == 3
    assert dict(summary.rejects) == {"empty caption": 1, "missing media file": 1}
    assert set(index(tmp_path / "c").modality) == {"normal"}
    blobs = members(tmp_path / "c")["cc3m_normal-000000000"]
    assert set(blobs) == {"json", "jpg", "normal.png"}
    assert record(blobs)["conversations"][0]["value"] == "<normal>"


def test_map_with_the_image_file_name(tmp_path):
    """OneLLM's rule swaps only the directory: a map saved under the image's own name is found too."""
    raw = sample_tree(tmp_path, "cc3m_normal")
    maps = raw / "cc3m_normal" / "00000"
    (maps / "000000001.png").rename(maps / "000000001.jpg")
    summary = convert("cc3m_normal", raw, tmp_path / "c")
    assert summary.samples == 3
