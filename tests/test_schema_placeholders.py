"""Each modality's placeholder exactly once, in the first turn: twice, later, or another modality's is invalid."""

import pytest

from onellm_data.schema import PLACEHOLDERS, Sample, make_key, validate

MEMBERS = {"image": {"jpg": b"x"}, "video": {"mp4": b"x"}, "audio": {"flac": b"x"}, "point": {"npy": b"x"},
           "depth": {"jpg": b"x", "depth.png": b"x"}, "normal": {"jpg": b"x", "normal.png": b"x"},
           "imu": {"npy": b"x"}, "fmri": {"npy": b"x"}}


def _sample(modality, *turns):
    conversations = [{"from": ("human", "gpt")[i % 2], "value": v} for i, v in enumerate(turns)]
    return Sample(make_key("src", "1"), "src", modality, conversations, "1", MEMBERS[modality])


def test_the_eight_placeholders():
    assert PLACEHOLDERS == {m: f"<{m}>" for m in ("image", "video", "audio", "point", "depth", "normal", "imu",
                                                  "fmri")}


@pytest.mark.parametrize("modality", sorted(MEMBERS))
def test_placeholder_exactly_once_in_the_first_turn(modality):
    tag = PLACEHOLDERS[modality]
    assert validate(_sample(modality, f"{tag}\nWhat is it?", "A thing.")) is None
    assert validate(_sample(modality, f"{tag}\n{tag} What is it?", "A thing.")) is not None
    assert validate(_sample(modality, "What is it?", "A thing.")) == "media placeholder missing from first turn"
    later = _sample(modality, f"{tag}\nWhat is it?", "A thing.", f"And {tag}?", "Same.")
    assert validate(later) == "unexpected media placeholder"
    other = "<video>" if modality != "video" else "<image>"
    assert validate(_sample(modality, f"{tag}{other}\nWhat is it?", "A thing.")) == "unexpected media placeholder"
