"""Which SentencePiece model counts the index's ``text_tokens`` / ``answer_tokens``, and how that is recorded.

Conversion counts tokens with the tokenizer given (``--tokenizer``), else with the bundled default
(``model/assets/demo_tokenizer.model``), so queries over the index work out of the box; an empty string turns
counting off. The model used is recorded per source in ``samples.parquet``'s schema metadata under
``onellm_data.tokenizers``: ``{source: {"file": name, "sha256": hex}}``.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pyarrow as pa

METADATA_KEY = b"onellm_data.tokenizers"


def default_tokenizer() -> Path:
    """The bundled SentencePiece model (package data of ``model``, so it is there in a wheel install too)."""
    return Path(str(resources.files("model") / "assets" / "demo_tokenizer.model"))


def resolve_tokenizer(setting: str | None) -> str | None:
    """``None`` → the default model; ``""`` → no counting (None); a path → itself."""
    if setting is None:
        return str(default_tokenizer())
    return setting or None


@lru_cache(maxsize=8)
def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tokenizer_record(setting: str | None) -> dict[str, str] | None:
    path = resolve_tokenizer(setting)
    return None if path is None else {"file": Path(path).name, "sha256": _sha256(path)}


def with_tokenizer(table: pa.Table, source: str, setting: str | None) -> pa.Table:
    """A samples part carrying the record of the tokenizer its counts come from."""
    record = tokenizer_record(setting)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps({source: record} if record else {}, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)


def merged_tokenizers(parts: list[Path]) -> dict[str, dict[str, str]]:
    """The per-source records of the given samples parts."""
    import pyarrow.parquet as pq

    out: dict[str, dict[str, str]] = {}
    for part in parts:
        meta = pq.read_schema(part).metadata or {}
        out.update(json.loads(meta.get(METADATA_KEY, b"{}")))
    return dict(sorted(out.items()))


def read_tokenizers(samples_path: Path | str) -> dict[str, dict[str, str]]:
    """``{source: {"file", "sha256"}}`` from a merged ``samples.parquet`` (sources counted without one absent)."""
    import pyarrow.parquet as pq

    return json.loads((pq.read_schema(samples_path).metadata or {}).get(METADATA_KEY, b"{}"))
