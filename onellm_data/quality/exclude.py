"""Exclude lists named by a recipe (``data.exclude``: dedup's and contamination's outputs, or any file of keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onellm_data.errors import CorpusError


def read_key_list(path: Path) -> set[str]:
    """Keys of an exclude list: one per line, blank lines and ``#`` comments ignored."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"exclude list not found: {path} (run `onellm-data dedup` / `contamination`, or fix "
                          "data.exclude in the recipe)")
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def recipe_exclude(recipe: Any) -> set[str]:
    """Union of the recipe's ``data.exclude`` lists (empty when it names none)."""
    keys: set[str] = set()
    for path in getattr(recipe.data, "exclude", ()) or ():
        keys |= read_key_list(path)
    return keys
