"""Helpers shared by the point, depth/normal, IMU and fMRI converters: seeded subsets, integer options, and the
RGB + map pairing of the depth/normal sources.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from onellm_data.converters._json_stream import bad_text, iter_json, open_text
from onellm_data.converters._rejects import (
    MALFORMED_FILE,
    MALFORMED_ROW,
    MISSING_CAPTION,
    MISSING_MEDIA,
    NOT_UTF8,
    OUTSIDE_CC3M,
    malformed,
    rejected,
)
from onellm_data.errors import AnnotationError, RejectError


def seeded_subset(total: int, size: int | None, seed: int) -> set[int] | None:
    """Positions of a seeded random subset of ``size`` among ``total`` items (``None``: keep all)."""
    if size is None or size <= 0 or size >= total:
        return None
    return set(random.Random(seed).sample(range(total), size))


def int_option(options: dict[str, Any], name: str, default: int | None) -> int | None:
    """Options arrive as strings from the CLI (``-o subset=50000``)."""
    value = options.get(name, default)
    if value is None or value == "" or str(value).lower() in ("none", "all"):
        return None
    return int(value)


def find_map(map_dir: Path, rel: Path) -> Path:
    """The map for an image: the same relative path, or the same stem as ``.png`` (DPT writes PNGs)."""
    same = map_dir / rel
    if same.is_file():
        return same
    png = same.with_suffix(".png")
    if png.is_file():
        return png
    raise RejectError(MISSING_MEDIA, f"no map {png}")


def pair_members(image: Path, map_path: Path, kind: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """RGB image + map through the depth codec (missing files are rejects, never crashes)."""
    from onellm_data.codecs.depth import prepare_map_pair

    if not image.is_file():
        raise RejectError(MISSING_MEDIA, str(image))
    return prepare_map_pair(image, map_path, kind)


def llava_map_records(raw: Path, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Records of a seeded subset of LLaVA-Instruct-150K (``[{id, image, conversations}]``).

    Two streaming passes: count, then keep the seeded positions. LLaVA-150K repeats an image id across its
    conversation types, so the n-th repeat of an id gets the source id ``{id}-{n}``.
    """
    path = raw / options.get("json", "llava_instruct_150k.json")
    total = sum(1 for _ in iter_json(path))
    keep = seeded_subset(total, int_option(options, "subset", 50_000), int_option(options, "seed", 0) or 0)
    seen: dict[str, int] = {}
    for position, item in iter_json(path):
        wanted = keep is None or position in keep
        if item is None:
            if wanted:
                yield malformed(f"row{position}", path, MALFORMED_FILE)
            continue
        if not isinstance(item, dict) or not isinstance(item.get("id"), (str, int)):
            if wanted:
                yield malformed(f"row{position}", "no id")
            continue
        # Repeats are counted over the whole file so an item's id does not depend on the subset drawn.
        item_id = str(item["id"])
        repeat = seen.get(item_id, 0)
        seen[item_id] = repeat + 1
        source_id = item_id if repeat == 0 else f"{item_id}-{repeat}"
        if not wanted:
            continue
        if not isinstance(item.get("image"), str) or not isinstance(item.get("conversations"), list):
            yield malformed(source_id, "no image/conversations")
            continue
        yield {"source_id": source_id, "image": item["image"], "conversations": item["conversations"]}


def cc3m_records(raw: Path, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """CC3M images with captions, from OneLLM's ``cc3m.csv`` list or an img2dataset folder.

    ``cc3m.csv``: tab-separated with a ``caption``/``url`` header, ``url`` a path holding a ``cc3m`` directory.
    img2dataset folder: ``cc3m/{shard:05d}/{key}.jpg`` with ``{key}.txt`` (or ``{key}.json`` ``caption``).
    """
    import csv
    import os

    image_dir = options.get("images", "cc3m")
    listing = raw / options.get("csv", "cc3m.csv")
    if listing.is_file():
        with open_text(listing) as fh:
            reader = csv.reader(fh, delimiter="\t")
            header = next(reader, [])
            try:
                cap_col, url_col = header.index("caption"), header.index("url")
            except ValueError:
                raise AnnotationError(listing, "a tab-separated list with a caption<TAB>url header",
                                      f"header {header[:8]}") from None
            for lineno, row in enumerate(reader, 2):
                if bad_text(row):
                    yield rejected(f"line{lineno}", NOT_UTF8, f"{listing.name}:{lineno}")
                    continue
                if len(row) <= max(cap_col, url_col) or not row[url_col].strip():
                    yield malformed(f"line{lineno}", str(row)[:80])
                    continue
                url = row[url_col].strip()
                yield {"source_id": Path(url).stem, "image": url, "caption": row[cap_col]}
        return
    root = raw / image_dir
    if not root.is_dir():
        raise FileNotFoundError(f"neither {listing} nor the img2dataset folder {root} exists")
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith((".jpg", ".jpeg", ".png", ".webp")):
                rel = Path(folder, name).relative_to(raw)
                yield {"source_id": Path(name).stem, "image": str(rel)}


def cc3m_caption(image: Path, record: dict[str, Any]) -> Any:
    """The caption from the record (CSV form) or the img2dataset sidecar ``.txt`` / ``.json``."""
    import json

    if "caption" in record:
        return record["caption"]
    txt = image.with_suffix(".txt")
    if txt.is_file():
        try:
            return txt.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise RejectError(NOT_UTF8, f"{txt.name}: {exc}") from exc
    meta = image.with_suffix(".json")
    if meta.is_file():
        try:
            return json.loads(meta.read_text(encoding="utf-8")).get("caption")
        except (json.JSONDecodeError, AttributeError) as exc:
            raise RejectError(MALFORMED_ROW, f"{meta}: {exc}") from exc
    raise RejectError(MISSING_CAPTION, f"no {txt.name} or {meta.name}")


def mirrored_map_dir(raw: Path, image_rel: str, image_dir: str, kind: str) -> tuple[Path, Path]:
    """OneLLM's rule: the map lives at the image path with the ``cc3m`` directory renamed ``cc3m_{kind}``.

    Returns ``(image path, map path without suffix rule applied)``.
    """
    image = Path(image_rel)
    if not image.is_absolute():
        image = raw / image
    parts = list(image.parts)
    if image_dir not in parts:
        raise RejectError(OUTSIDE_CC3M, image_rel)
    i = len(parts) - 1 - parts[::-1].index(image_dir)
    parts[i] = f"{image_dir}_{kind}"
    return image, Path(*parts)
