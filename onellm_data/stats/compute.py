"""Every figure of the stats report, from the Parquet index alone.

Only the columns a figure needs are read (never keys, member lists or ``meta_json`` unless a recipe mix is
asked for); source and modality are read dictionary-encoded, and every grouping is a ``bincount`` over integer
codes, so two million rows cost a few hundred MB and a few seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onellm_data.index import read_tables
from onellm_data.progress import Progress
from onellm_data.stats.quality import quality_section
from onellm_data.stats.summary import _num, pair_counts, share_true, summarize, value_counts

SCHEMA_VERSION = 1
TEXT_FIELDS = ("turns", "text_chars", "answer_chars", "text_tokens", "answer_tokens")
# Media fields summarised per modality; "window_length" and "window_coverage" are derived for IMU.
MEDIA_FIELDS: dict[str, tuple[str, ...]] = {
    "image": ("width", "height"),
    "depth": ("width", "height"),
    "normal": ("width", "height"),
    "video": ("duration", "fps", "width", "height", "num_frames"),
    "audio": ("duration", "sample_rate", "channels"),
    "point": ("num_points",),
    "imu": ("imu_rate", "imu_span", "window_length", "window_coverage"),
    "fmri": ("fmri_reps", "fmri_voxels"),
}
TOP_VALUES: dict[str, tuple[str, ...]] = {"video": ("fps",), "audio": ("sample_rate", "channels"),
                                          "imu": ("imu_rate",), "fmri": ("fmri_reps", "fmri_voxels")}
RESOLUTION_MODALITIES = ("image", "depth", "normal", "video")
FLAGS: dict[str, tuple[str, ...]] = {"point": ("has_color",), "depth": ("map_resized",), "normal": ("map_resized",)}
SAMPLE_COLUMNS = ["source", "modality", "bytes", *TEXT_FIELDS, "width", "height", "duration", "fps", "num_frames",
                  "sample_rate", "channels", "num_points", "has_color", "imu_rate", "imu_span", "window_start",
                  "window_end", "fmri_reps", "fmri_voxels", "map_resized"]


def _read(corpus: Path) -> dict[str, pa.Table]:
    """The three index tables, from one published version of the index (columns an older corpus lacks are left
    out, and handled as absent)."""
    return read_tables(corpus, {"samples": SAMPLE_COLUMNS, "shards": ["source", "modality", "bytes"],
                                "rejects": ["source", "source_id", "reason"]},
                       dictionary=("source", "modality"), present_only=True)


def _codes(table: pa.Table, name: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes + labels of a dictionary-read string column (labels sorted, codes remapped to match)."""
    column = table.column(name)
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    # Row groups may carry different dictionaries: unify so one code means one label in every chunk.
    chunks = pa.table({name: column}).unify_dictionaries().column(0).chunks
    if not chunks:
        return np.zeros(0, np.int64), []
    dictionary = chunks[0].dictionary.to_pylist()
    indices = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks]).astype(np.int64)
    order = sorted(range(len(dictionary)), key=lambda i: str(dictionary[i]))
    remap = np.empty(len(dictionary), np.int64)
    remap[order] = np.arange(len(order))
    return remap[indices], [str(dictionary[i]) for i in order]


def _floats(table: pa.Table, name: str) -> np.ndarray:
    """A numeric or boolean column as float64 with NaN for null (all-NaN when the column is absent)."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return pc.cast(table.column(name), pa.float64()).to_numpy()


def _groups(codes_a: np.ndarray, n_a: int, codes_b: np.ndarray, n_b: int,
            weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-(a, b) counts and weighted sums as [n_a, n_b] arrays."""
    flat = codes_a * n_b + codes_b
    out = {"items": np.bincount(flat, minlength=n_a * n_b).reshape(n_a, n_b)}
    for name, w in weights.items():
        out[name] = np.bincount(flat, weights=np.nan_to_num(w), minlength=n_a * n_b).reshape(n_a, n_b)
    return out


def _expected(notes: list[str]) -> dict[str, int] | None:
    try:
        from onellm_data.manifests import expected_items  # another part of the toolkit; optional here
        return dict(expected_items())
    except Exception as exc:  # noqa: BLE001 - the report must still be produced without manifests
        notes.append(f"expected items unavailable (manifests could not be read: {type(exc).__name__}: {exc})")
        return None


def _media(samples: pa.Table, mod_codes: np.ndarray, modalities: list[str]) -> dict[str, Any]:
    media: dict[str, Any] = {}
    cache: dict[str, np.ndarray] = {}

    def col(name: str) -> np.ndarray:
        if name not in cache:
            if name == "window_length":
                cache[name] = col("window_end") - col("window_start")
            elif name == "window_coverage":
                # Share of the window that the recording covers (imu_span seconds over the window length).
                with np.errstate(divide="ignore", invalid="ignore"):
                    cache[name] = np.clip(col("imu_span") / col("window_length"), 0.0, 1.0)
            else:
                cache[name] = _floats(samples, name)
        return cache[name]

    for code, modality in enumerate(modalities):
        if modality not in MEDIA_FIELDS:
            continue
        mask = mod_codes == code
        entry: dict[str, Any] = {"items": int(mask.sum()),
                                 "fields": {f: summarize(col(f)[mask]) for f in MEDIA_FIELDS[modality]}}
        entry["top"] = {f: value_counts(col(f)[mask]) for f in TOP_VALUES.get(modality, ())}
        if modality in RESOLUTION_MODALITIES:
            entry["top"]["resolution"] = pair_counts(col("width")[mask], col("height")[mask])
        entry["flags"] = {f: share_true(col(f)[mask]) for f in FLAGS.get(modality, ())}
        media[modality] = entry
    return media


def _conversations(samples: pa.Table, mod_codes: np.ndarray, modalities: list[str], notes: list[str]) -> dict:
    cols = {f: _floats(samples, f) for f in TEXT_FIELDS}
    tokens_counted = bool(samples.num_rows) and not np.isnan(cols["text_tokens"]).all()
    if samples.num_rows and not tokens_counted:
        notes.append("token counts absent: the corpus was converted without --tokenizer")
    by_modality = {}
    for code, modality in enumerate(modalities):
        mask = mod_codes == code
        by_modality[modality] = {f: summarize(v[mask]) for f, v in cols.items()}
    return {"tokens_counted": tokens_counted, "overall": {f: summarize(v) for f, v in cols.items()},
            "by_modality": by_modality}


REJECT_EXAMPLES = 3


def _rejects(table: pa.Table, items_by_source: dict[str, int]) -> dict[str, Any]:
    df = table.to_pandas()
    if "source_id" not in df:
        df["source_id"] = None
    by_reason = (df.groupby(["source", "reason"], sort=True).size().reset_index(name="count")
                 if len(df) else df.assign(count=0))
    per_source = df.groupby("source").size().to_dict() if len(df) else {}
    by_source = []
    for source in sorted(set(per_source) | set(items_by_source)):
        n = int(per_source.get(source, 0))
        seen = n + items_by_source.get(source, 0)
        by_source.append({"source": source, "count": n, "rate": _num(n / seen) if seen else None})
    # One row per reason, most frequent first: which sources, and a few ids to look at (source:id).
    reasons = []
    for reason, g in (df.sort_values(["source", "source_id"], kind="stable").groupby("reason", sort=True)
                      if len(df) else ()):
        examples = [f"{r.source}:{r.source_id}" for r in g.drop_duplicates("source").head(REJECT_EXAMPLES).itertuples()]
        if len(examples) < REJECT_EXAMPLES:  # fewer sources than examples: more ids of the same ones
            rest = [f"{r.source}:{r.source_id}" for r in g.itertuples()]
            examples += [e for e in rest if e not in examples][:REJECT_EXAMPLES - len(examples)]
        reasons.append({"reason": str(reason), "count": int(len(g)), "sources": sorted(set(g["source"])),
                        "examples": examples})
    reasons.sort(key=lambda r: (-r["count"], r["reason"]))
    return {"total": int(len(df)), "by_source": by_source, "reasons": reasons,
            "by_reason": [{"source": r.source, "reason": r.reason, "count": int(r.count)}
                          for r in by_reason.sort_values(["source", "count"], ascending=[True, False]).itertuples()]}


def compute_stats(corpus: Path | str, recipe: Path | str | None = None, deep: bool = False,
                  mix_batches: int = 1000, progress: Progress | None = None) -> dict[str, Any]:
    """All figures of stats.json for ``corpus`` (see ``onellm_data.stats.json_schema`` for the layout)."""
    corpus = Path(corpus)
    notes: list[str] = []
    tables = _read(corpus)
    samples, shards = tables["samples"], tables["shards"]
    mod_codes, mod_labels = _codes(samples, "modality")
    src_codes, src_labels = _codes(samples, "source")
    # A (modality, source) with shards but no sample rows means a broken index; list it rather than crash.
    shard_mod = shards.column("modality").to_pylist()
    shard_src = shards.column("source").to_pylist()
    modalities = sorted(set(mod_labels) | set(shard_mod))
    sources = sorted(set(src_labels) | set(shard_src))
    m_index = {m: i for i, m in enumerate(modalities)}
    s_index = {s: i for i, s in enumerate(sources)}
    mod_codes = np.array([m_index[m] for m in mod_labels] or [0], np.int64)[mod_codes]
    src_codes = np.array([s_index[s] for s in src_labels] or [0], np.int64)[src_codes]

    nm, ns = len(modalities), len(sources)
    g = _groups(mod_codes, nm, src_codes, ns, {"bytes": _floats(samples, "bytes"),
                                               "text_tokens": _floats(samples, "text_tokens"),
                                               "answer_tokens": _floats(samples, "answer_tokens")})
    sh_m = np.array([m_index[m] for m in shard_mod], np.int64)
    sh_s = np.array([s_index[s] for s in shard_src], np.int64)
    sg = _groups(sh_m, nm, sh_s, ns, {"shard_bytes": _floats(shards, "bytes")})

    groups = []
    for i, modality in enumerate(modalities):
        for j, source in enumerate(sources):
            if g["items"][i, j] or sg["items"][i, j]:
                groups.append({"modality": modality, "source": source, "items": int(g["items"][i, j]),
                               "bytes": int(g["bytes"][i, j]), "shards": int(sg["items"][i, j]),
                               "shard_bytes": int(sg["shard_bytes"][i, j])})

    expected = _expected(notes)
    items_by_source = {s: int(g["items"][:, j].sum()) for j, s in enumerate(sources)}
    tokens_counted = not np.isnan(_floats(samples, "text_tokens")).all() if samples.num_rows else False
    source_rows = []
    for j, source in enumerate(sources):
        exp = expected.get(source) if expected is not None else None
        items = items_by_source[source]
        source_rows.append({
            "source": source,
            "modalities": [m for i, m in enumerate(modalities) if g["items"][i, j] or sg["items"][i, j]],
            "items": items, "bytes": int(g["bytes"][:, j].sum()), "shards": int(sg["items"][:, j].sum()),
            "shard_bytes": int(sg["shard_bytes"][:, j].sum()),
            "text_tokens": int(g["text_tokens"][:, j].sum()) if tokens_counted else None,
            "answer_tokens": int(g["answer_tokens"][:, j].sum()) if tokens_counted else None,
            "expected_items": exp,
            "coverage": _num(items / exp) if exp else None,
        })
    modality_rows = [{"modality": m, "items": int(g["items"][i].sum()), "bytes": int(g["bytes"][i].sum()),
                      "shards": int(sg["items"][i].sum()), "shard_bytes": int(sg["shard_bytes"][i].sum()),
                      "sources": [s for j, s in enumerate(sources) if g["items"][i, j] or sg["items"][i, j]]}
                     for i, m in enumerate(modalities)]

    conversations = _conversations(samples, mod_codes, modalities, notes)
    media = _media(samples, mod_codes, modalities)
    rejects = _rejects(tables["rejects"], items_by_source)
    with_expectation = [r for r in source_rows if r["expected_items"] is not None]
    stats: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "corpus": str(corpus),
        "totals": {
            "items": int(g["items"].sum()), "bytes": int(g["bytes"].sum()), "shards": int(shards.num_rows),
            "shard_bytes": int(sg["shard_bytes"].sum()), "sources": ns, "modalities": nm,
            "rejects": rejects["total"],
            "text_tokens": int(g["text_tokens"].sum()) if tokens_counted else None,
            "answer_tokens": int(g["answer_tokens"].sum()) if tokens_counted else None,
        },
        "expected": {"available": expected is not None,
                     "sources_with_expectation": len(with_expectation),
                     "items": sum(r["items"] for r in with_expectation),
                     "expected_items": sum(r["expected_items"] for r in with_expectation)},
        "modalities": modality_rows,
        "sources": source_rows,
        "groups": groups,
        "conversations": conversations,
        "media": media,
        "rejects": rejects,
        "mix": None,
        "deep": None,
        "quality": quality_section(corpus),
        "notes": notes,
    }
    del samples  # the mix and the deep check read their own columns
    if recipe is not None:
        from onellm_data.stats.recipe_mix import recipe_mix
        stats["mix"] = recipe_mix(corpus, Path(recipe), mix_batches, notes)
    if deep:
        from onellm_data.stats.deep import deep_check
        stats["deep"] = deep_check(corpus, progress)
    return stats
