"""Reject details are the same on every run: no object addresses, timestamps or temporary paths."""

from __future__ import annotations

import io
import pytest

from onellm_data.codecs._detail import clean_detail, exc_detail
from onellm_data.codecs.audio import prepare_audio
from onellm_data.codecs.image import prepare_image
from onellm_data.errors import CodecError


@pytest.mark.parametrize("raw,clean", [
    ("cannot identify image file <_io.BytesIO object at 0x7f8b41a06480>",
     "cannot identify image file <_io.BytesIO>"),
    ("Error opening <_io.BytesIO object at 0x7F0000000001>: Format not recognised.",
     "Error opening <_io.BytesIO>: Format not recognised."),
    ("[07:27:01] /github/workspace/src/video/ffmpeg/threaded_decoder.cc:292: [07:27:01] "
     "/github/workspace/src/video/ffmpeg/threaded_decoder.cc:218: Check failed: avcodec_send_packet(dec_ctx_.get(), "
     "pkt.get()) >= 0 (-1094995529 vs. 0) Thread worker: Error sending packet.",
     "Check failed: avcodec_send_packet(dec_ctx_.get(), pkt.get()) >= 0 (-1094995529 vs. 0) Thread worker: "
     "Error sending packet."),
    ("bad thing\n\nStack trace:\n  [bt] (0) /usr/lib/libdecord.so(+0x1234567) [0x7f00deadbeef]\n", "bad thing"),
    ("pointer 0x55d5c0ffee00 freed", "pointer 0x? freed"),
    ("shape (3, 15724)  and\tthat", "shape (3, 15724) and that"),
    ("0x1f is a small number", "0x1f is a small number"),
])
def test_clean_detail(raw: str, clean: str) -> None:
    assert clean_detail(raw) == clean


def test_clean_detail_cuts_after_cleaning() -> None:
    raw = "<obj object at 0x7f8b41a06480> " + "x" * 300
    assert clean_detail(raw) == ("<obj> " + "x" * 300)[:200]
    assert clean_detail(raw, limit=10) == "<obj> xxxx"


def test_exc_detail_replaces_and_falls_back_to_the_type() -> None:
    assert exc_detail(RuntimeError("Error reading /tmp/onellm-video-abc.avi..."),
                      replace={"/tmp/onellm-video-abc.avi": "9 bytes"}) == "Error reading 9 bytes..."
    assert exc_detail(EOFError()) == "EOFError"


def _reject_details() -> list[str]:
    details = []
    for call in (lambda: prepare_image(b"GIF89a but not really" * 3),
                 lambda: prepare_audio(b"garbage audio bytes" * 9, ext="wav")):
        try:
            call()
        except CodecError as exc:
            details.append(f"{exc.reason}: {exc.detail}")
    return details


def test_details_do_not_depend_on_object_addresses() -> None:
    """The library messages name the BytesIO by address; the detail must not (rejects.parquet is compared byte
    for byte between runs). (The exact texts are checked in test_image and test_audio.)"""
    first = _reject_details()
    junk = [io.BytesIO() for _ in range(1000)]  # another heap layout: other addresses for the next BytesIO
    second = _reject_details()
    del junk
    assert len(first) == 2 and first == second
    assert all("0x" not in d and "object at" not in d for d in first)
