import io
import json

from PIL import Image

from onellm_data.converters import make_converter
from tests.converters.sensor_helpers import convert, index, members, record, sample_tree


def test_sample_tree(tmp_path):
    raw = sample_tree(tmp_path, "llava_depth")
    summary = convert("llava_depth", raw, tmp_path / "c")
    assert summary.samples == 4
    assert dict(summary.rejects) == {"missing media file": 1, "roles out of order": 1, "malformed annotation row": 1}
    df = index(tmp_path / "c")
    # LLaVA-150K repeats image ids across conversation types: the repeat gets a suffix instead of a reject
    assert sorted(df.source_id) == ["000000033471", "000000033471-1", "000000052846", "000000334872"]
    assert (df.width == 64).all() and (~df.map_resized).all()
    blobs = members(tmp_path / "c")
    first = blobs["llava_depth-000000033471"]
    assert set(first) == {"json", "jpg", "depth.png"}
    assert record(first)["conversations"][0]["value"] == "<depth>\nWhat is in the image?"
    # the placeholder stays where LLaVA put it (here at the end of the question)
    assert record(blobs["llava_depth-000000052846"])["conversations"][0]["value"] == "What is in the image?\n<depth>"
    depth = Image.open(io.BytesIO(first["depth.png"]))
    assert depth.mode.startswith("I") and depth.size == (64, 48)  # 16-bit depth kept


def test_seeded_subset(tmp_path):
    raw = sample_tree(tmp_path, "llava_depth")
    ids = lambda **o: [r["source_id"] for r in make_converter("llava_depth", raw, **o).records()]  # noqa: E731
    assert len(ids()) == 7  # default 50000 > items: all kept
    picked = ids(subset="3", seed="0")
    assert len(picked) == 3 and picked == ids(subset=3, seed=0)
    assert {tuple(ids(subset=3, seed=s)) for s in range(6)} != {tuple(picked)}  # the seed changes the subset
    order = ids()
    assert picked == [i for i in order if i in picked]  # file order kept


def test_options_for_other_layouts(tmp_path):
    raw = sample_tree(tmp_path, "llava_depth")
    (raw / "depth").rename(raw / "dpt_depth")
    (raw / "llava_instruct_150k.json").rename(raw / "subset.json")
    summary = convert("llava_depth", raw, tmp_path / "c", maps="dpt_depth", json="subset.json")
    assert summary.samples == 4


def test_assistant_role_and_missing_image(tmp_path):
    raw = sample_tree(tmp_path, "llava_depth")
    items = [{"id": "1", "image": "000000033471.jpg", "conversations": [
                 {"from": "human", "value": "<image>\nq"}, {"from": "assistant", "value": "a"}]},
             {"id": "2", "image": "nope.jpg", "conversations": [
                 {"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "a"}]},
             {"id": "3", "image": "000000052846.jpg", "conversations": [
                 {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}]
    (raw / "llava_instruct_150k.json").write_text(json.dumps(items))
    (raw / "depth" / "nope.png").write_bytes((raw / "depth" / "000000033471.png").read_bytes())
    summary = convert("llava_depth", raw, tmp_path / "c")
    assert summary.samples == 1
    assert dict(summary.rejects) == {"missing media file": 1, "media placeholder missing from first turn": 1}
