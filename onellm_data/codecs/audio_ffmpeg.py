"""The audio fallback: what libsndfile cannot open (AAC in m4a/mp4, FLAC inside Ogg, Opus in WebM/Matroska,
WMA, AC-3…) ffmpeg decodes, and the first audio stream is re-encoded as FLAC (24-bit, original rate and
channels), which libsndfile reads everywhere. Conversion stores that FLAC, so loading never needs ffmpeg.

The input goes through a temporary file, not a pipe: MP4/M4A files written without ``faststart`` keep their index
at the end and need a seekable input. The output too: a FLAC written to a pipe has no sample count in its header.
``-bitexact`` keeps ffmpeg's version string out of the file, so the same input gives the same bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from onellm_data.codecs._detail import clean_detail
from onellm_data.errors import CodecError

TIMEOUT_S = 600  # a decode that has not finished in ten minutes is not a sample


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def transcode_to_flac(data: bytes, context: str) -> bytes:
    """FLAC bytes of ``data``'s first audio stream, or a CodecError that says which decoder refused what;
    ``context`` says why ffmpeg is asked (e.g. what libsndfile said) and leads the error's detail."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise CodecError("audio format not supported by libsndfile",
                         f"{context}; ffmpeg (the fallback decoder) is not installed")
    with tempfile.TemporaryDirectory(prefix="onellm-audio-") as tmp:
        src, dst = os.path.join(tmp, "in"), os.path.join(tmp, "out.flac")
        with open(src, "wb") as fh:
            fh.write(data)
        cmd = [exe, "-nostdin", "-v", "error", "-i", src, "-map", "0:a:0", "-vn", "-sn", "-dn",
               "-c:a", "flac", "-sample_fmt", "s32", "-fflags", "+bitexact", "-flags:a", "+bitexact",
               "-map_metadata", "-1", "-f", "flac", dst]
        try:
            run = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise CodecError("audio decode timed out", f"ffmpeg ran over {TIMEOUT_S} s") from exc
        stderr = run.stderr.decode("utf-8", "replace").replace(src, "input")
        message = clean_detail(_last_line(stderr))
        if run.returncode != 0 or not os.path.exists(dst) or os.path.getsize(dst) == 0:
            if "matches no streams" in stderr:
                raise CodecError("file has no audio stream", "ffmpeg found no audio stream to decode")
            if "Decoder" in message and "not found" in message:
                raise CodecError("audio codec not supported by libsndfile or ffmpeg", message)
            raise CodecError("undecodable audio", f"{context}; ffmpeg: {message or 'no output'}")
        with open(dst, "rb") as fh:
            return fh.read()
