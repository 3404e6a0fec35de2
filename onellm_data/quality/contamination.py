"""Training samples that overlap the paper's evaluation sets, found four ways:

- ``id``: the same dataset id (COCO image id, YouTube clip, Objaverse uid, Clotho file name, Ego4D uid + window);
- ``exact``: the same normalised media (SHA-256, ``fingerprint.py``);
- ``near``: media within ``max_distance`` bits of perceptual hash (resized, recompressed copies; depth/normal
  samples through their RGB image);
- ``caption`` / ``question``: an answer equal to a reference caption, or a question equal to an eval question,
  after normalisation (``normalise.py``; texts under four words are not compared).

Eval sets are read by the evaluation code's reader (``model.eval_sets``, passed in by the command) from their
official layouts, so this check sees exactly the items
``onellm-data eval --dataset`` scores. The training side is the corpus' hashes table (``hashes.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from onellm_data.errors import SettingError
from onellm_data.quality.eval_side import EvalRef, EvalSetReader, EvalSide, file_fingerprint
from onellm_data.quality.extra_sets import EXTRA_SETS
from onellm_data.quality.fingerprint import NEAR_SPACE
from onellm_data.quality.hashes import hashes_frame
from onellm_data.quality.groups import DEFAULT_MAX_DISTANCE, near_pairs
from onellm_data.quality.normalise import id_token, imu_window_token, text_hash

METHODS = ("id", "exact", "near", "caption", "question")
EXAMPLES = 3


def read_eval_side(name: str, annotations: Path, media_root: Path,
                   read_eval_set: EvalSetReader | None = None) -> EvalSide:
    """An eval set's items as comparison keys; media that cannot be read are counted in ``notes``.

    The paper's eval sets are read by the evaluation code's own reader (``model.eval_sets.read_eval_set``), which
    the caller passes in: the data layer never imports the model, and contamination sees exactly the items
    ``eval`` scores."""
    if name in EXTRA_SETS:
        return EXTRA_SETS[name](Path(annotations), Path(media_root))
    if read_eval_set is None:
        raise SettingError(f"eval set {name!r} is read by the evaluation code's reader: pass read_eval_set "
                           f"(the contamination command does), or use one of {sorted(EXTRA_SETS)}")
    es = read_eval_set(name, Path(annotations), Path(media_root))
    refs, unreadable = [], 0
    for item in es.items:
        ids = {id_token(item.item_id, name)}
        info = item.info or {}
        if item.media is not None:
            ids.add(id_token(item.media.path.name, name))
            if item.media.window is not None:
                ids.add(imu_window_token(item.media.path.stem, *item.media.window))
        for extra in ("video", "file"):
            ids.add(id_token(info.get(extra), name))
        try:
            fingerprint = file_fingerprint(es.modality, item.media.path) if item.media is not None else None
        except Exception:  # noqa: BLE001 - an unreadable eval file is counted, the other checks still run
            fingerprint, unreadable = None, unreadable + 1
        captions = tuple(h for h in (text_hash(c) for c in (es.references or {}).get(item.item_id, [])) if h)
        question = text_hash(info["question"], 3) if info.get("question") else None
        refs.append(EvalRef(name, item.item_id, es.modality, tuple(sorted(i for i in ids if i)), fingerprint,
                            captions, (question,) if question else ()))
    notes = [f"{name}: {unreadable} of {len(refs)} media could not be read (compared by id and text only)"] \
        if unreadable else []
    return EvalSide(name, es.modality, refs, notes)


def _explode(df: pd.DataFrame, column: str) -> pd.DataFrame:
    return df[["row", column]].explode(column).dropna()


def find_matches(hashes: pa.Table | pd.DataFrame, side: EvalSide,
                 max_distance: int = DEFAULT_MAX_DISTANCE) -> pd.DataFrame:
    """One row per (training sample, eval item, method) match."""
    df = hashes_frame(hashes) if isinstance(hashes, pa.Table) else hashes
    df = df.assign(row=np.arange(len(df)))
    found: list[pd.DataFrame] = []

    def add(rows: np.ndarray, items: list[str], method: str, detail: list[str] | str) -> None:
        if len(rows):
            found.append(pd.DataFrame({"row": rows, "eval_item": items, "method": method, "detail": detail}))

    def by_value(column: str, values: dict[Any, list[str]], method: str) -> None:
        ex = _explode(df, column)
        hit = ex[ex[column].isin(values.keys())]
        rows, items, details = [], [], []
        for r, v in zip(hit["row"], hit[column]):
            for item in values[v]:
                rows.append(r), items.append(item), details.append(str(v) if method == "id" else "")
        add(np.array(rows, np.int64), items, method, details)

    ids: dict[str, list[str]] = {}
    captions: dict[int, list[str]] = {}
    questions: dict[int, list[str]] = {}
    for ref in side.refs:
        for t in ref.ids:
            ids.setdefault(t, []).append(ref.item)
        for h in ref.captions:
            captions.setdefault(h, []).append(ref.item)
        for h in ref.questions:
            questions.setdefault(h, []).append(ref.item)
    by_value("ids", ids, "id")
    by_value("answers", captions, "caption")
    by_value("questions", questions, "question")

    space = NEAR_SPACE.get(side.modality)
    same = df["modality"].map(NEAR_SPACE.get) == space if space else df["modality"] == side.modality
    with_fp = [r for r in side.refs if r.fingerprint is not None]
    digests = {}
    for r in with_fp:
        digests.setdefault(r.fingerprint.exact, []).append(r.item)
    exact_rows = df[same & df["exact"].isin(digests.keys())]
    rows = [(row, item) for row, d in zip(exact_rows["row"], exact_rows["exact"]) for item in digests[d]]
    add(np.array([r for r, _ in rows], np.int64), [i for _, i in rows], "exact", "")

    near_refs = [r for r in with_fp if r.fingerprint.near is not None]
    train = df[same & df["near"].notna()]
    if near_refs and len(train):
        eval_hashes = np.array([r.fingerprint.near for r in near_refs], np.uint64)
        all_hashes = np.concatenate([eval_hashes, train["near"].to_numpy(np.uint64)])
        i, j = near_pairs(all_hashes, max_distance)
        k = len(eval_hashes)
        cross = (i < k) & (j >= k)
        dist = np.bitwise_count(all_hashes[i[cross]] ^ all_hashes[j[cross]])
        add(train["row"].to_numpy()[j[cross] - k], [near_refs[e].item for e in i[cross]], "near",
            [f"{d} bits" for d in dist])
    if not found:
        return pd.DataFrame(columns=["eval_set", "eval_item", "key", "source", "modality", "method", "detail"])
    m = pd.concat(found, ignore_index=True).drop_duplicates(["row", "eval_item", "method"])
    m = m.join(df.set_index("row")[["key", "source", "modality"]], on="row")
    m.insert(0, "eval_set", side.name)
    return m[["eval_set", "eval_item", "key", "source", "modality", "method", "detail"]].sort_values(
        ["key", "eval_item", "method"]).reset_index(drop=True)


def summarise(matches: pd.DataFrame, sides: list[EvalSide], hashes: pd.DataFrame) -> dict[str, Any]:
    """Counts per (source, eval set) and method, examples, and per eval set the items found in training."""
    per_source = hashes.groupby("source").size().to_dict()
    pairs = []
    for (source, eval_set), g in matches.groupby(["source", "eval_set"], sort=True):
        counts = {m: int(g.loc[g["method"] == m, "key"].nunique()) for m in METHODS}
        examples = []
        for key in g["key"].drop_duplicates().head(EXAMPLES):
            hits = g[g["key"] == key]
            examples.append({"key": key, "eval_item": str(hits["eval_item"].iloc[0]),
                             "methods": sorted(set(hits["method"]))})
        pairs.append({"source": source, "eval_set": eval_set, "samples": int(g["key"].nunique()),
                      "source_samples": int(per_source.get(source, 0)), "by_method": counts, "examples": examples})
    sets = []
    for side in sides:
        g = matches[matches["eval_set"] == side.name]
        sets.append({"eval_set": side.name, "modality": side.modality, "items": len(side.refs),
                     "items_found": int(g["eval_item"].nunique()),
                     "by_method": {m: int(g.loc[g["method"] == m, "eval_item"].nunique()) for m in METHODS}})
    excluded = sorted(matches["key"].unique().tolist())
    return {"samples_flagged": len(excluded), "pairs": pairs, "eval_sets": sets,
            "notes": [n for s in sides for n in s.notes], "exclude": excluded}
