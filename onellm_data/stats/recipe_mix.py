"""Requested vs realised mix of a recipe over the corpus, through the loader's own schedule (index only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onellm_data.stats.summary import _num

MIX_COLUMNS = ["key", "source", "modality", "shard", "tar_offset", "member_bytes", "answer_tokens", "answer_chars",
               "text_tokens", "width", "height", "duration", "num_points", "sample_rate"]  # + what filters read


def recipe_mix(corpus: Path, recipe_path: Path, num_batches: int, notes: list[str]) -> dict[str, Any]:
    """Rows per (source, modality) and totals per modality; an ``error`` instead when the mix cannot be run."""
    out: dict[str, Any] = {"recipe": str(recipe_path), "num_batches": num_batches, "rows": [], "by_modality": [],
                           "kept_out": [], "error": None}
    try:
        from onellm_data.loader.realised_mix import realised_mix  # the loader part; optional for the stats report
        from onellm_data.recipes import load_recipe
    except Exception as exc:  # noqa: BLE001
        out["error"] = f"mix unavailable (loader could not be imported: {type(exc).__name__}: {exc})"
        notes.append(out["error"])
        return out
    try:
        from onellm_data.index import read_table

        recipe = load_recipe(recipe_path)
        out["recipe"] = recipe.name
        from onellm_data.quality.exclude import kept_out_report

        table = read_table(corpus, "samples", columns=MIX_COLUMNS)
        df = realised_mix(recipe, table.to_pandas(), num_batches=num_batches)
        out["kept_out"] = kept_out_report(recipe, table)
    except Exception as exc:  # noqa: BLE001 - a bad recipe must not lose the rest of the report
        out["error"] = f"mix not computed: {type(exc).__name__}: {exc}"
        notes.append(out["error"])
        return out
    keys = ("requested_share", "sample_share", "token_share")
    out["rows"] = [{"source": str(r["source"]), "modality": str(r["modality"]),
                    **{k: _num(float(r[k])) for k in keys}, "epochs": _num(float(r["epochs"]))}
                   for r in df.to_dict("records")]
    by_mod = df.groupby("modality", sort=True)[list(keys)].sum()
    out["by_modality"] = [{"modality": str(m), **{k: _num(float(v[k])) for k in keys}} for m, v in by_mod.iterrows()]
    return out
