"""Hugging Face ``datasets``: the explicit ``Features`` of a set of shards, computed from the index.

``load_dataset("webdataset", ...)`` infers its columns from the first five samples of the first shard, so a
load spanning several member signatures (JPEG and PNG images, wav and flac audio, or several modalities) loses
the members the first shard lacks. Passing ``features=hf_features(corpus, ...)`` declares every member column
(each sample fills its own, the others are None) and a ``json`` struct whose ``meta`` holds every key the
selected sources use. A meta key whose values differ in type across the selected samples (text in one source, a
number or a list in another) is declared a string: ``datasets`` stores each value's text, so nothing is lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from onellm_data.index import META_COLUMNS, read_table
from onellm_data.schema import AUDIO_EXTS, IMAGE_EXTS, VIDEO_EXTS


def select(corpus: Path | str, modality: str | None = None, source: str | None = None) -> pa.Table:
    """Index rows of one modality and/or source (all rows when both are None)."""
    table = read_table(Path(corpus), "samples")
    if modality is not None:
        table = table.filter(pc.equal(table.column("modality"), modality))
    if source is not None:
        table = table.filter(pc.equal(table.column("source"), source))
    return table


def shard_files(corpus: Path | str, modality: str | None = None, source: str | None = None) -> list[str]:
    """Absolute paths of the shards holding the selected samples, sorted."""
    shards = select(corpus, modality, source).column("shard").unique().to_pylist()
    return sorted(str(Path(corpus).resolve() / s) for s in shards)


def _meta_type(table: pa.Table) -> pa.DataType:
    """One struct type for every ``meta`` dict of the selected rows (promoted columns + ``meta_json`` keys)."""
    fields: dict[str, pa.DataType] = {}
    for name, dtype in META_COLUMNS.items():
        if table.column(name).null_count < table.num_rows:
            fields[name] = pa.int64() if pa.types.is_integer(dtype) else dtype
    values: dict[str, list[Any]] = {}
    for extra in (json.loads(s) for s in table.column("meta_json").unique().to_pylist() if s):
        for key, value in extra.items():
            values.setdefault(key, []).append(value)
    for key, seen in values.items():
        try:
            fields[key] = pa.array(seen).type  # ints and floats unify to float64, dicts to one struct
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Sources disagree on the key's type (a number in one, text in another): a string column, into which
            # datasets writes each value's text, keeps every value where any narrower type would fail the load.
            fields[key] = pa.string()
    return pa.struct(sorted(fields.items())) if fields else pa.struct([])


def hf_features(corpus: Path | str, modality: str | None = None, source: str | None = None,
                decode_media: bool = False) -> Any:
    """``datasets.Features`` for the shards of ``shard_files(corpus, modality, source)``.

    By default audio is the file's bytes and video a ``{"bytes", "path"}`` dict: HF's ``Audio`` needs torchcodec
    even to store bytes, both need it to decode, and torchcodec does not load with torch 2.13. ``decode_media=True``
    declares ``Audio()``/``Video()`` for a torch that torchcodec supports. Images decode with PIL (16-bit maps
    stay 16-bit, mode ``I;16``/``I``).
    """
    import datasets
    from datasets import Audio, Features, Image, List, Value, Video

    table = select(corpus, modality, source)
    members = sorted(set(table.column("members").combine_chunks().flatten().to_pylist()) - {"json"})
    turn = {"from": Value("string"), "value": Value("string")}
    meta = datasets.Features.from_arrow_schema(pa.schema([("meta", _meta_type(table))]))["meta"]
    record = {"conversations": List(turn), "key": Value("string"), "members": List(Value("string")),
              "meta": meta, "modality": Value("string"), "source": Value("string"), "source_id": Value("string")}
    if pc.max(table.column("conversation")).as_py():  # stored samples holding several items
        record["more_conversations"] = List({"conversations": List(turn), "key": Value("string"),
                                             "source_id": Value("string")})
    columns: dict[str, Any] = {"json": record}
    for name in members:
        ext = name.rsplit(".", 1)[-1]
        if ext in IMAGE_EXTS or ext == "png":
            columns[name] = Image()
        elif ext in AUDIO_EXTS:
            columns[name] = Audio() if decode_media else Value("binary")  # the file's bytes
        elif ext in VIDEO_EXTS:
            columns[name] = Video(decode=decode_media)  # {"bytes", "path"} when not decoded
        elif ext == "npy":  # point [N, 6], IMU [6, 400], fMRI [reps, 15724]: float16 widens losslessly
            columns[name] = List(List(Value("float32")))
        else:
            raise ValueError(f"no Hugging Face feature for member {name!r}")
    columns["__key__"] = Value("string")
    columns["__url__"] = Value("string")
    return Features(columns)


def one_row_per_conversation(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """``ds.map(one_row_per_conversation, batched=True)``: a stored sample holding several items (one image with
    all its captions) becomes one row per item, as the index counts them; the media column is shared."""
    out: dict[str, list[Any]] = {name: [] for name in batch}
    for i, record in enumerate(batch["json"]):
        more = record.get("more_conversations") or []
        for item in [None, *more]:
            for name in batch:
                out[name].append(batch[name][i])
            if item is not None:
                out["json"][-1] = {**record, "key": item["key"], "source_id": item["source_id"],
                                   "conversations": item["conversations"], "more_conversations": []}
                out["__key__"][-1] = item["key"]
    return out
