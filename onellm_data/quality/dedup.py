"""Media duplicates across a corpus: groups, and which samples to exclude.

Samples of one modality whose media have the same exact digest, or near hashes within ``max_distance`` bits
(chains included), form a group. Not every member of a group is redundant: LLaVA asks many questions about one
COCO image, and a caption of that image is a different task. The exclude rule, per group and task kind
(``caption`` samples vs instruction samples), sources ranked by ``prefer`` then by name:

- caption samples: the best-ranked source keeps its samples; other sources' captions of the same media are
  excluded (cc3m and laion captioning the same photo teach the alignment stage one pair twice);
- any kind: a sample whose whole conversation equals an earlier one's (rank, then key) is excluded (a repeat);
- instruction samples with different answers are all kept: they are different questions about one picture.

Outputs under ``CORPUS/quality/``: ``duplicates.parquet`` (one row per grouped sample: group, kind, key, source,
source_id, modality, task, excluded, reason, distance to the group's first kept sample) and ``dedup_exclude.txt``
(one key per line: what a recipe's ``exclude:`` and the loader read).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from onellm_data.quality.hashes import hashes_frame
from onellm_data.quality.groups import DEFAULT_MAX_DISTANCE, exact_groups, near_groups
from onellm_data.shards.atomic import write_bytes_atomic

DUPLICATES_FILE = "duplicates.parquet"
EXCLUDE_FILE = "dedup_exclude.txt"


@dataclass(frozen=True)
class DedupResult:
    members: pd.DataFrame  # one row per sample in a group
    groups: int
    exact_groups: int
    excluded: list[str]


def _union(n: int, *labelings: np.ndarray) -> np.ndarray:
    """Connected components of rows linked by sharing a label (>= 0) in any labeling; -1 for lone rows."""
    src, dst, offset = [], [], n
    for labels in labelings:
        rows = np.flatnonzero(labels >= 0)
        src.append(rows)
        dst.append(labels[rows] + offset)
        offset += int(labels.max(initial=-1)) + 1
    i, j = np.concatenate(src), np.concatenate(dst)
    _, comp = connected_components(coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(offset, offset)),
                                   directed=False)
    comp = comp[:n]
    linked = np.bincount(comp, minlength=offset)[comp] > 1
    return _renumber(np.where(linked, comp, -1))


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..g-1 in order of their first row (-1 kept)."""
    mask = labels >= 0
    uniq, first, inv = np.unique(labels[mask], return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    out = np.full(len(labels), -1, np.int64)
    out[mask] = rank[inv]
    return out


def _digests(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A nullable fixed-size binary column as a uint8 [n, width] array (zeros where null) and its validity."""
    arr = column.combine_chunks()
    width = arr.type.byte_width
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    data = np.frombuffer(arr.buffers()[1], np.uint8)[arr.offset * width:(arr.offset + len(arr)) * width]
    return data.reshape(len(arr), width), valid


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    arr = pc.dictionary_encode(column.combine_chunks()) if not pa.types.is_dictionary(column.type) \
        else column.combine_chunks()
    return arr.indices.to_numpy(zero_copy_only=False), arr.dictionary.to_pylist()


def find_duplicates(table: pa.Table | pd.DataFrame, max_distance: int = DEFAULT_MAX_DISTANCE,
                    prefer: tuple[str, ...] = ()) -> DedupResult:
    """Groups and exclusions from a hashes table (columns key, source, source_id, modality, task, exact, near,
    conversation; rows without media are ignored). The grouping reads the columns as numpy arrays; only the
    grouped rows become a DataFrame."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    n = table.num_rows
    digests, has_exact = _digests(table.column("exact"))
    near_col = table.column("near").combine_chunks()
    has_near = near_col.is_valid().to_numpy(zero_copy_only=False)
    near_all = pc.fill_null(near_col, 0).to_numpy().astype(np.uint64)
    mod_codes, _ = _codes(table.column("modality"))
    group = np.full(n, -1, np.int64)
    exact_group = np.full(n, -1, np.int64)
    offset = exact_offset = 0
    for code in np.unique(mod_codes[has_exact]):
        rows = np.flatnonzero(has_exact & (mod_codes == code))
        ex = exact_groups(digests[rows])
        labelings = [ex.group]
        with_near = has_near[rows]
        if with_near.any():
            ng = near_groups(near_all[rows[with_near]], max_distance)
            full = np.full(len(rows), -1, np.int64)
            full[with_near] = ng.group
            labelings.append(full)
        g = _renumber(_union(len(rows), *labelings))
        group[rows] = np.where(g >= 0, g + offset, -1)
        exact_group[rows] = np.where(ex.group >= 0, ex.group + exact_offset, -1)
        offset += int(g.max(initial=-1)) + 1
        exact_offset += ex.count
    grouped = np.flatnonzero(group >= 0)
    m = hashes_frame(table.select(["key", "source", "source_id", "modality", "task", "exact", "near",
                                   "conversation"]).take(pa.array(grouped)))
    for column in ("source", "modality", "task"):
        m[column] = m[column].astype(str)
    m["group"] = group[grouped]
    m["exact_group"] = exact_group[grouped]
    rank_of = {s: i for i, s in enumerate(prefer)}
    sources = sorted(m["source"].unique())
    m["rank"] = m["source"].map(lambda s: (rank_of.get(s, len(prefer)), sources.index(s))).map(
        lambda t: t[0] * (len(sources) + 1) + t[1])
    m = m.sort_values(["group", "rank", "key"], kind="stable")
    best = m.groupby(["group", "task"])["rank"].transform("min")
    repeat = m.duplicated(["group", "task", "conversation"])
    copy = (m["task"] == "caption") & (m["rank"] > best)
    m["excluded"] = copy | repeat
    m["reason"] = np.where(copy, "caption of media another source captions",
                           np.where(repeat, "repeated sample (same media and conversation)", ""))
    # Distance of each member to its group's first kept member.
    first = m[~m["excluded"]].groupby("group").head(1).set_index("group")
    ref_near, ref_exact = m["group"].map(first["near"]), m["group"].map(first["exact"])
    both = m["near"].notna() & ref_near.notna()
    dist = np.full(len(m), -1, np.int64)
    a = m.loc[both, "near"].to_numpy(np.uint64)
    b = ref_near[both].to_numpy(np.uint64)
    dist[both.to_numpy()] = np.bitwise_count(a ^ b)
    m["distance"] = dist
    sizes = m.groupby("group")["exact_group"].agg(lambda s: s.nunique() == 1 and s.iloc[0] >= 0)
    m["kind"] = m["group"].map(sizes).map({True: "exact", False: "near"})
    m["exact_copy"] = (m["exact"] == ref_exact).to_numpy()
    members = m[["group", "kind", "key", "source", "source_id", "modality", "task", "excluded", "reason",
                 "exact_copy", "distance"]].reset_index(drop=True)
    excluded = sorted(members.loc[members["excluded"], "key"])
    return DedupResult(members, int(members["group"].nunique()), int(sizes.sum()), excluded)


def write_dedup(result: DedupResult, out_dir: Path) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(result.members, preserve_index=False), buf, compression="zstd")
    table_path, exclude_path = out_dir / DUPLICATES_FILE, out_dir / EXCLUDE_FILE
    write_bytes_atomic(table_path, buf.getvalue())
    write_bytes_atomic(exclude_path, "".join(k + "\n" for k in result.excluded).encode())
    return table_path, exclude_path
