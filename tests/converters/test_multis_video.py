from onellm_data.converters import make_converter
from onellm_data.samples.instruct_media import EXPECTED
from tests.converters.instruct_helpers import convert, first_turn, index, read_samples, sample_raw


def test_sample_tree_three_files(tmp_path):
    raw = sample_raw(tmp_path, "multis_video")
    summary = convert(raw, tmp_path / "c", "multis_video")
    assert summary.samples == EXPECTED["multis_video"]["samples"]
    assert dict(summary.rejects) == EXPECTED["multis_video"]["rejects"]
    read = read_samples(tmp_path / "c")
    assert sorted(read) == ["video_complex_reasoning_10k-video1", "video_conversation_10k-video0",
                            "video_conversation_10k-video1", "video_detail_10k-video0"]
    # <image> tags and trailing <video> tags all become one leading <video>.
    assert first_turn(read["video_conversation_10k-video1"][0]) == "<video>\nWhat colours appear?"
    assert first_turn(read["video_detail_10k-video0"][0]) == "<video>\nDescribe the video in detail."
    assert len(read["video_conversation_10k-video0"][0]["conversations"]) == 4
    assert list(read["video_conversation_10k-video1"][1]) == ["mp4"]  # from ChatBridge's videos/vi/ bucket
    rejects = index(tmp_path / "c", "rejects").set_index("source_id")
    assert rejects.loc["video_conversation_10k-video2", "reason"] == "missing media file"
    assert rejects.loc["video_conversation_10k-video0-1", "reason"] == "roles out of order"


def test_path_key_instead_of_id(tmp_path):
    raw = sample_raw(tmp_path, "multis_video")
    (raw / "mine.json").write_text('[{"video": "videos/video0.mp4", "conversations": '
                                   '[{"from": "human", "value": "Q?"}, {"from": "assistant", "value": "A."}]}]')
    conv = make_converter("multis_video", raw, files="mine.json")
    (record,) = list(conv.records())
    sample = conv.convert(record)
    assert sample.source_id == "mine-video0" and sample.conversations[1] == {"from": "gpt", "value": "A."}
    assert sample.conversations[0]["value"] == "<video>\nQ?"
