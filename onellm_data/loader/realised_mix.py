"""Requested vs realised mix of a recipe, from the index alone (no tar is opened).

The loader's own schedule is run for ``num_batches`` global batches; each lane's samples are split over its
sources by their sizes, and answer tokens are the index's ``answer_tokens`` (or, for a corpus indexed without a
tokenizer, ``answer_chars`` / 4 as an estimate).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from onellm_data.loader.schedule import Schedule
from onellm_data.recipes import Recipe

COLUMNS = ["source", "modality", "requested_share", "sample_share", "token_share", "epochs"]


def realised_mix(recipe: Recipe, samples_df: pd.DataFrame, num_batches: int = 1000, seed: int = 0,
                 world_size: int = 1) -> pd.DataFrame:
    from onellm_data.loader.dataset import build_lanes  # the loader's exact lane split

    needed = ["key", "source", "modality", "shard", "tar_offset", "member_bytes"]
    table = pa.Table.from_pandas(samples_df[needed], preserve_index=False)
    from onellm_data.quality.exclude import recipe_exclude
    from onellm_data.quality.filters import COLUMNS as FILTER_COLUMNS

    # Kept out exactly as the loader does: the recipe's exclude lists and what its filters remove.
    judged = pa.Table.from_pandas(samples_df[[c for c in FILTER_COLUMNS if c in samples_df]], preserve_index=False)
    lanes, specs = build_lanes(recipe, table, recipe_exclude(recipe, samples=judged))
    schedule = Schedule(specs, recipe.data.sampling, world_size, seed, recipe.data.drop_last)
    drawn = [0] * len(lanes)
    done = 0
    while done < num_batches:
        gb = schedule.next()
        if gb is None:
            continue  # an epoch boundary; the schedule continues with the next epoch
        drawn[gb.lane] += gb.count
        done += 1

    tokens = samples_df["answer_tokens"] if "answer_tokens" in samples_df else None
    if tokens is None or tokens.isna().any():
        tokens = samples_df["answer_chars"] / 4.0
    per_key = pd.Series(tokens.to_numpy(dtype=float), index=samples_df["key"].to_numpy())
    total_weight = sum(spec.weight for spec in specs)
    rows = []
    for lane, spec, n in zip(lanes, specs, drawn):
        counts = pd.Series(lane.sources).value_counts()
        mean_tokens = pd.Series(per_key.reindex(lane.keys).to_numpy(), index=lane.sources).groupby(level=0).mean()
        for source, size in counts.items():
            share = size / len(lane)
            rows.append({
                "source": source,
                "modality": lane.modality,
                "requested_share": spec.weight * share / total_weight,
                "samples": n * share,
                "tokens": n * share * float(mean_tokens[source]),
                "epochs": n * share / size,
            })
    df = pd.DataFrame(rows)
    df["sample_share"] = df["samples"] / max(df["samples"].sum(), 1e-12)
    df["token_share"] = df["tokens"] / max(df["tokens"].sum(), 1e-12)
    return df[COLUMNS].sort_values(["modality", "source"]).reset_index(drop=True)
