from onellm_data.codecs.audio import decode_audio
from onellm_data.samples.instruct_media import EXPECTED
from tests.converters.instruct_helpers import convert, first_turn, index, read_samples, sample_raw


def test_sample_tree_audio_conversations(tmp_path):
    raw = sample_raw(tmp_path, "multis_audio")
    summary = convert(raw, tmp_path / "c", "multis_audio")
    assert summary.samples == EXPECTED["multis_audio"]["samples"]
    assert dict(summary.rejects) == EXPECTED["multis_audio"]["rejects"]
    read = read_samples(tmp_path / "c")
    record, media = read["audiovideo_conversation_10k--0DdlOuIFUI_50.000"]
    assert first_turn(record) == "<audio>\nWhat sound is heard?"  # <video> tag replaced
    assert decode_audio(media["wav"]).shape == (1, 128, 1024)
    assert list(read["audiovideo_conversation_10k-abc_10.000"][1]) == ["flac"]
    assert first_turn(read["audiovideo_detail_10k--0DdlOuIFUI_50.000"][0]) == "<audio>\nDescribe the audio in detail."
    samples = index(tmp_path / "c")
    assert (samples.modality == "audio").all() and (samples.sample_rate == 16000).all()
    rejects = index(tmp_path / "c", "rejects").set_index("source_id")
    assert rejects.loc["audiovideo_conversation_10k-bad_1.000", "reason"] == "undecodable audio"
