"""The JSON Schema of stats.json (every field documented in its ``description``) and its validator
(``jsonschema``, Draft 2020-12)."""

from __future__ import annotations

from typing import Any

import jsonschema

NULLABLE_INT = {"type": ["integer", "null"], "minimum": 0}
NULLABLE_NUM = {"type": ["number", "null"]}


def _obj(props: dict[str, Any], description: str, required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": props,
            "required": list(props) if required is None else required, "additionalProperties": False}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": ["object", "null"]}


def _count(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "description": description}


def _list(item: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "items": item, "description": description}


DEFS: dict[str, Any] = {
    "summary": _obj(
        {
            "count": _count("values recorded (non-null)"),
            "missing": _count("rows of the group where the value is null"),
            "sum": {"type": "number"}, "min": {"type": "number"}, "max": {"type": "number"},
            "mean": {"type": "number"}, "std": {"type": "number", "minimum": 0, "description": "population std"},
            "p5": {"type": "number"}, "p25": {"type": "number"}, "p50": {"type": "number", "description": "median"},
            "p75": {"type": "number"}, "p95": {"type": "number"},
            "box": {"$ref": "#/$defs/box"},
            "histogram": {"$ref": "#/$defs/histogram"},
        },
        "Distribution of one field over a group of samples; only count and missing when count is 0.",
        required=["count", "missing"],
    ),
    "box": _obj(
        {"whisker_low": {"type": "number"}, "q1": {"type": "number"}, "median": {"type": "number"},
         "q3": {"type": "number"}, "whisker_high": {"type": "number"},
         "outliers": _count("values beyond the whiskers (1.5 IQR, Tukey)")},
        "Box-plot figures: quartiles and Tukey whiskers (most extreme values within 1.5 IQR of the box).",
    ),
    "histogram": _obj(
        {"edges": _list({"type": "number"}, "bin edges, ascending; len(counts) + 1 of them"),
         "counts": _list({"type": "integer", "minimum": 0}, "values per bin; the last bin includes its right edge")},
        "Equal-width histogram over [min, max] (integer-aligned bins for small integer ranges).",
    ),
    "value_count": _obj({"value": {"type": ["number", "string"]}, "count": _count("samples with this value")},
                        "One frequent value (resolutions are 'WIDTHxHEIGHT' strings)."),
    "flag": _obj({"count": _count("samples where the flag is recorded"), "true": _count("samples where it is true"),
                  "share": NULLABLE_NUM}, "Share of samples with a boolean flag set."),
    "text_fields": _obj(
        {f: {"$ref": "#/$defs/summary"} for f in ("turns", "text_chars", "answer_chars", "text_tokens",
                                                 "answer_tokens")},
        "Per-conversation figures: turns, characters of all turns / answer (gpt) turns, and SentencePiece tokens "
        "counted once at conversion (null in the index when converted without a tokenizer).",
    ),
    "size_row": _obj(
        {"items": _count("samples in the index"), "bytes": _count("sum of member bytes of those samples"),
         "shards": _count("tar shards"), "shard_bytes": _count("sum of the shards' file sizes (tar overhead included)")},
        "Sizes of a group.",
    ),
}

_SIZES = {"items": _count("samples in the index"), "bytes": _count("sum of the samples' member bytes"),
          "shards": _count("tar shards"), "shard_bytes": _count("sum of shard file sizes (tar headers included)")}

STATS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://onellm-data/stats.schema.json",
    "title": "onellm-data corpus statistics (stats.json)",
    **_obj(
        {
            "schema_version": {"type": "integer", "enum": [1], "description": "layout version of this file"},
            "corpus": {"type": "string", "description": "corpus directory the figures describe"},
            "totals": _obj(
                {**_SIZES, "sources": _count("distinct sources"), "modalities": _count("distinct modalities"),
                 "rejects": _count("records rejected at conversion"),
                 "text_tokens": {**NULLABLE_INT, "description": "all turns' tokens; null if not counted"},
                 "answer_tokens": {**NULLABLE_INT, "description": "answer turns' tokens; null if not counted"}},
                "Whole-corpus totals."),
            "expected": _obj(
                {"available": {"type": "boolean", "description": "whether the manifests could be read"},
                 "sources_with_expectation": _count("sources present here whose manifest states an expected count"),
                 "items": _count("items of those sources in the corpus"),
                 "expected_items": _count("their expected items (paper Table 9 / official release sizes)")},
                "Coverage against the manifests' expected item counts."),
            "modalities": _list(_obj({"modality": {"type": "string"}, **_SIZES,
                                      "sources": _list({"type": "string"}, "sources with this modality")},
                                     "Sizes of one modality."), "One row per modality, sorted by name."),
            "sources": _list(_obj(
                {"source": {"type": "string"}, "modalities": _list({"type": "string"}, "modalities of the source"),
                 **_SIZES,
                 "text_tokens": {**NULLABLE_INT, "description": "tokens of all turns; null if not counted"},
                 "answer_tokens": {**NULLABLE_INT, "description": "tokens of answer turns; null if not counted"},
                 "expected_items": {**NULLABLE_INT, "description": "manifest's expected items; null if unknown"},
                 "coverage": {**NULLABLE_NUM, "description": "items / expected_items; null if unknown"}},
                "Sizes and coverage of one source."), "One row per source, sorted by name."),
            "groups": _list(_obj({"modality": {"type": "string"}, "source": {"type": "string"}, **_SIZES},
                                 "Sizes of one (modality, source) pair."), "Non-empty (modality, source) pairs."),
            "conversations": _obj(
                {"tokens_counted": {"type": "boolean", "description": "whether the index holds token counts"},
                 "overall": {"$ref": "#/$defs/text_fields"},
                 "by_modality": {"type": "object", "additionalProperties": {"$ref": "#/$defs/text_fields"},
                                 "description": "modality -> figures"}},
                "Conversation turns, characters and tokens."),
            "media": {
                "type": "object", "description": "modality -> media figures (modalities with media only)",
                "additionalProperties": _obj(
                    {"items": _count("samples of the modality"),
                     "fields": {"type": "object", "additionalProperties": {"$ref": "#/$defs/summary"},
                                "description": "image/depth/normal: width, height; video: duration (s), fps, "
                                               "width, height, num_frames; audio: duration (s), sample_rate, "
                                               "channels; point: num_points (original count); imu: imu_rate "
                                               "(Hz), imu_span (s recorded in the window), window_length (s), "
                                               "window_coverage (imu_span / window_length, 0..1); fmri: "
                                               "fmri_reps, fmri_voxels"},
                     "top": {"type": "object", "additionalProperties": _list({"$ref": "#/$defs/value_count"}, ""),
                             "description": "field -> most frequent values (fps, sample_rate, resolution, ...)"},
                     "flags": {"type": "object", "additionalProperties": {"$ref": "#/$defs/flag"},
                               "description": "point: has_color; depth/normal: map_resized"}},
                    "Media figures of one modality."),
            },
            "rejects": _obj(
                {"total": _count("rejected records"),
                 "by_source": _list(_obj({"source": {"type": "string"}, "count": _count("rejected records"),
                                          "rate": {**NULLABLE_NUM, "description": "rejects / (rejects + items)"}},
                                         "Rejects of one source."), "one row per source"),
                 "by_reason": _list(_obj({"source": {"type": "string"}, "reason": {"type": "string"},
                                          "count": _count("records")}, "Rejects of one (source, reason)."),
                                    "by source, most frequent reason first"),
                 "reasons": _list(_obj({"reason": {"type": "string"}, "count": _count("records"),
                                        "sources": _list({"type": "string"}, "sources with this reason"),
                                        "examples": _list({"type": "string"}, "up to 3 'source:source_id' to "
                                                          "look at, from different sources first")},
                                       "Rejects of one reason over all sources."),
                                  "one row per reason, most frequent first")},
                "Records rejected at conversion (index/rejects.parquet)."),
            "mix": _nullable(_obj(
                        {"recipe": {"type": "string"}, "num_batches": _count("global batches simulated"),
                         "rows": _list(_obj({"source": {"type": "string"}, "modality": {"type": "string"},
                                             "requested_share": {"type": "number", "minimum": 0},
                                             "sample_share": {"type": "number", "minimum": 0},
                                             "token_share": {"type": "number", "minimum": 0},
                                             "epochs": {"type": "number", "minimum": 0,
                                                        "description": "passes over the source in the run"}},
                                            "One source of the mix."), "per (source, modality)"),
                         "by_modality": _list(_obj({"modality": {"type": "string"},
                                                    "requested_share": {"type": "number"},
                                                    "sample_share": {"type": "number"},
                                                    "token_share": {"type": "number"}}, "Shares of a modality."),
                                              "per modality"),
                         "kept_out": _list(_obj({"source": {"type": "string"},
                                                 "filter": {"type": "string", "description": "a data.filters bound "
                                                            "('image.min_side 224'), 'exclude lists', or '(all)'"},
                                                 "samples": _count("samples removed"), "of": _count("source samples"),
                                                 "answer_tokens": _count("answer tokens removed")},
                                                "What one filter removes from one source."),
                                           "the recipe's filters and exclude lists, per source"),
                         "error": {"type": ["string", "null"], "description": "why the mix could not be computed"}},
                        "With --recipe: requested vs realised mix (the loader's schedule run over the index).")),
            "deep": _nullable(_obj(
                         {"shards_checked": _count("shards opened"), "samples_checked": _count("index rows checked"),
                          "member_bytes": _count("member bytes found matching the index"),
                          "problem_count": _count("problems found"),
                          "problems": _list(_obj({"shard": {"type": "string"}, "kind": {"type": "string"},
                                                  "detail": {"type": "string"}}, "One problem."),
                                            "the first 20 problems")},
                         "With --deep: every shard's member names and sizes checked against the index.")),
            "quality": _nullable(_obj(
                {"dedup": _nullable(_obj(
                    {"groups": _count("duplicate groups"), "exact_groups": _count("groups of identical media"),
                     "samples": _count("samples in a group"), "excluded": _count("samples on the exclude list"),
                     "by_source": _list(_obj({"source": {"type": "string"}, "grouped": _count("samples in a group"),
                                              "excluded": _count("samples excluded")}, "One source."), "")},
                    "From quality/duplicates.parquet (`onellm-data dedup`).")),
                 "contamination": _nullable(_obj(
                     {"samples_flagged": _count("training samples overlapping an eval set"),
                      "max_distance": _count("near-duplicate threshold in bits"),
                      "eval_sets": _list({"type": "object"}, "per eval set: items, items_found, by_method"),
                      "pairs": _list({"type": "object"}, "per (source, eval set): samples, by_method, examples"),
                      "notes": _list({"type": "string"}, "")},
                     "From quality/contamination.json (`onellm-data contamination`)."))},
                "Data quality results written under CORPUS/quality/ by the dedup and contamination commands.")),
            "notes": _list({"type": "string"}, "what could not be computed, and why"),
        },
        "Figures computed from a corpus' Parquet index (index/samples, shards, rejects) by `onellm-data stats`; "
        "tars are opened only with --deep.",
    ),
    "$defs": DEFS,
}

_VALIDATOR = jsonschema.Draft202012Validator(STATS_SCHEMA)


def validate(stats: dict[str, Any]) -> list[str]:
    """Every way ``stats`` departs from STATS_SCHEMA (empty list when valid), as ``path: message`` lines."""
    return [f"{'.'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
            for e in sorted(_VALIDATOR.iter_errors(stats), key=lambda e: list(map(str, e.absolute_path)))]
