"""Shared helpers for URL + caption lists whose images img2dataset already downloaded.

img2dataset's layout (its README, "Output format"): the input rows are cut, in order, into shards of
``number_sample_per_shard`` rows (default 10 000; with several input files, sorted by name, shard ids continue
from one file to the next). Row ``i`` of shard ``s`` gets the key ``10**ceil(log10(number_sample_per_shard)) * s
+ i``, zero-padded (9 digits by default). Successful downloads are written as

- ``output_format=webdataset``: ``{s:05d}.tar`` holding ``{key}.jpg``, ``{key}.txt`` (caption) and ``{key}.json``
  (``url``, ``caption``, ``key``, ``status``, width/height ...);
- ``output_format=files``: folders ``{s:05d}/{key}.jpg`` + ``.txt`` + ``.json``;

plus ``{s:05d}.parquet`` / ``{s:05d}_stats.json`` per shard. Failed downloads have no files. We join a URL-list
row to its image by recomputing the key from the row position (no global URL table, so memory stays flat) and
check the ``url`` in the downloaded ``.json`` to catch a mismatched ``number_sample_per_shard``.
"""

from __future__ import annotations

import json
import math
import os
import tarfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MISSING_MEDIA, URL_MISMATCH, rejected
from onellm_data.errors import RejectError
from onellm_data.schema import PLACEHOLDERS, Sample

if TYPE_CHECKING:
    from onellm_data.converters.base import Converter

IMAGE_MEMBER_EXTS = ("jpg", "png", "webp", "jpeg")
DEFAULT_SAMPLES_PER_SHARD = 10_000
DEFAULT_SHARD_DIGITS = 5  # img2dataset's default oom_shard_count

IMAGES_OPTION = Option("images", "img2dataset's output folder (default images/, or raw itself)", "path", media=True)
PER_SHARD_OPTION = Option("samples_per_shard", "img2dataset's number_sample_per_shard", "int",
                          DEFAULT_SAMPLES_PER_SHARD)
DOWNLOADED = Need("img2dataset's downloaded images", ("images/", "./"), "[0-9]*")


def key_base(samples_per_shard: int) -> int:
    """``10**oom_sample_per_shard``: the multiplier of the shard id in img2dataset keys."""
    return 10 ** math.ceil(math.log10(samples_per_shard))


def row_key(position: int, samples_per_shard: int, shard_offset: int = 0) -> tuple[int, int, str]:
    """(shard id, integer key, key string with default widths) of the row at ``position`` in its input file."""
    shard = shard_offset + position // samples_per_shard
    base = key_base(samples_per_shard)
    key = base * shard + position % samples_per_shard
    width = DEFAULT_SHARD_DIGITS + len(str(base)) - 1
    return shard, key, f"{key:0{width}d}"


def caption_problem(caption: Any) -> str | None:
    """The reject reason for a caption cell, or None when it is a usable string."""
    if caption is None or (isinstance(caption, float) and math.isnan(caption)):
        return "missing caption"
    if not isinstance(caption, str):
        return "caption is not a string"
    if not caption.strip():
        return "empty caption"
    return None


def caption_record(source_id: str, caption: Any, **fields: Any) -> dict[str, Any]:
    """A record, or a reject record when the caption is unusable."""
    reason = caption_problem(caption)
    if reason:
        return rejected(source_id, reason, repr(caption))
    return {"source_id": source_id, "caption": caption.strip(), **fields}


def caption_sample(converter: Converter, source_id: str, modality: str, caption: str, media: dict[str, bytes],
                   meta: dict[str, Any]) -> Sample:
    """The alignment form: the placeholder alone as the human turn, the (already checked) caption as the answer."""
    turns = [{"from": "human", "value": PLACEHOLDERS[modality]}, {"from": "gpt", "value": caption}]
    return converter.sample(source_id, modality, turns, media, {"task": "caption", **meta})


@lru_cache(maxsize=8)
def _shard_paths(root: str, mtime_ns: int) -> dict[int, str]:
    """img2dataset shard id → ``NNNNN.tar`` or ``NNNNN/`` under ``root`` (cached per worker process)."""
    found: dict[int, str] = {}
    with os.scandir(root) as entries:
        for entry in entries:
            stem = entry.name[:-4] if entry.name.endswith(".tar") else entry.name
            if not stem.isdigit():
                continue
            if entry.name.endswith(".tar") or entry.is_dir():
                found.setdefault(int(stem), entry.path)
    return found


@lru_cache(maxsize=4)
def _tar_members(path: str, mtime_ns: int) -> dict[int, dict[str, tuple[int, int]]]:
    """integer key → {extension: (data offset, size)} for one shard tar; reads headers only."""
    members: dict[int, dict[str, tuple[int, int]]] = {}
    with tarfile.open(path, "r:") as tar:
        for info in tar:
            if not info.isfile():
                continue
            name = info.name.rsplit("/", 1)[-1]
            stem, _, ext = name.partition(".")
            if stem.isdigit():
                members.setdefault(int(stem), {})[ext] = (info.offset_data, info.size)
    return members


def _read_span(path: str, span: tuple[int, int]) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(span[0])
        return fh.read(span[1])


@lru_cache(maxsize=4)
def _folder_members(path: str, mtime_ns: int) -> dict[int, dict[str, str]]:
    """integer key → {extension: file path} for one ``files``-format shard folder."""
    members: dict[int, dict[str, str]] = {}
    with os.scandir(path) as entries:
        for entry in entries:
            stem, _, ext = entry.name.partition(".")
            if stem.isdigit():
                members.setdefault(int(stem), {})[ext] = entry.path
    return members


def read_downloaded(images: Path, shard: int, key: int,
                    guard: Any = lambda path: path) -> tuple[bytes, str, dict[str, Any] | None]:
    """(image bytes, extension, parsed ``.json`` or None) for one key; a reject when it was not downloaded.

    Keys are matched as integers, so any zero-padding width img2dataset used is accepted. ``guard``
    (``Converter.media``) checks each file read stays inside the source's folder after links.
    """
    if not images.is_dir():
        raise RejectError(MISSING_MEDIA, f"no img2dataset output folder {images.name!r}")
    shard_path = _shard_paths(str(images), os.stat(images).st_mtime_ns).get(shard)
    if shard_path is None:
        raise RejectError(MISSING_MEDIA, f"img2dataset shard {shard} not found")
    shard_path = str(guard(Path(shard_path)))
    wanted = (*IMAGE_MEMBER_EXTS, "json")
    mtime = os.stat(shard_path).st_mtime_ns
    files: dict[str, bytes] = {}
    if shard_path.endswith(".tar"):
        spans = _tar_members(shard_path, mtime).get(key, {})
        files = {ext: _read_span(shard_path, span) for ext, span in spans.items() if ext in wanted}
    else:
        paths = _folder_members(shard_path, mtime).get(key, {})
        files = {ext: guard(Path(p)).read_bytes() for ext, p in paths.items() if ext in wanted}
    image_ext = next((e for e in IMAGE_MEMBER_EXTS if e in files), None)
    if image_ext is None:
        detail = f"img2dataset key {key} not downloaded (shard {Path(shard_path).name})"
        raise RejectError(MISSING_MEDIA, detail)
    info = None
    if "json" in files:
        try:
            info = json.loads(files["json"])
        except ValueError:
            info = None
    return files[image_ext], image_ext, info


def convert_downloaded(converter: Converter, record: dict[str, Any], images: Path) -> Sample:
    """A URL-list record + its downloaded image → caption sample (the codec proves the image decodes)."""
    from onellm_data.codecs.image import prepare_image

    data, _, info = read_downloaded(images, record["shard"], record["key"], converter.media)
    if info is not None and record.get("url") and info.get("url") not in (None, record["url"]):
        raise RejectError(URL_MISMATCH, f"key {record['source_id']}: list has {record['url']!r}, "
                          f"download has {info.get('url')!r} (check number_sample_per_shard)")
    media, meta = prepare_image(data)
    return caption_sample(converter, record["source_id"], "image", record["caption"], media, meta)


def list_inputs(raw: Path, option: str | None, suffixes: tuple[str, ...]) -> list[Path]:
    """URL-list files: the option (file or folder) or every matching file at the top of ``raw``, sorted by
    name as img2dataset orders them. img2dataset's own per-shard ``00000.parquet`` files are skipped."""
    base = raw / option if option else raw
    if base.is_file():
        return [base]
    files = [p for p in base.iterdir() if p.is_file() and p.name.endswith(suffixes) and not p.name.split(".")[0].isdigit()]
    return sorted(files, key=lambda p: p.name)


def images_dir(raw: Path, option: str | None) -> Path:
    """img2dataset's output folder: the option, else ``raw/images``, else ``raw`` itself."""
    if option:
        return raw / option
    return raw / "images" if (raw / "images").is_dir() else raw


def positioned(files: list[Path], read_rows: Any, samples_per_shard: int) -> Iterator[dict[str, Any]]:
    """Give each ``(url, caption)`` row of ``read_rows(file)`` its img2dataset key, files in order; shard ids
    continue from one file to the next as img2dataset numbers them."""
    shard_offset = 0
    for path in files:
        rows = 0
        for position, (url, caption) in enumerate(read_rows(path)):
            rows = position + 1
            shard, key, key_str = row_key(position, samples_per_shard, shard_offset)
            if isinstance(caption, tuple):  # a row the reader could not parse: (reason, detail)
                yield rejected(key_str, caption[0], caption[1])
                continue
            yield caption_record(key_str, caption, url=url if isinstance(url, str) else None, shard=shard, key=key)
        shard_offset += math.ceil(rows / samples_per_shard)
