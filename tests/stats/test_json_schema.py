"""stats.json validates against its documented schema (jsonschema, Draft 2020-12)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from onellm_data.stats import STATS_SCHEMA, compute_stats, validate, write_reports
from tests.stats.corpus import build_stats_corpus


@pytest.fixture(scope="module")
def stats(tmp_path_factory: pytest.TempPathFactory) -> dict:
    corpus, _, _ = build_stats_corpus(tmp_path_factory.mktemp("schema"))
    return compute_stats(corpus, deep=True)


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(STATS_SCHEMA)


def test_every_property_is_documented() -> None:
    def walk(node: dict, path: str) -> None:
        for name, sub in node.get("properties", {}).items():
            assert "description" in sub or "$ref" in sub or sub.get("type") in ("number", "integer", "string"), \
                f"{path}.{name} has no description"
            walk(sub, f"{path}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                walk(node[key], f"{path}[{key}]")

    walk(STATS_SCHEMA, "$")
    for name in ("totals", "sources", "media", "rejects", "mix", "deep"):
        assert STATS_SCHEMA["properties"][name]["description"]


def test_written_stats_json_validates(stats: dict, tmp_path: Path) -> None:
    paths = write_reports(stats, tmp_path)
    loaded = json.loads(paths["stats.json"].read_text())
    assert loaded == stats
    assert validate(loaded) == []


def test_departures_are_reported(stats: dict) -> None:
    bad = copy.deepcopy(stats)
    bad["totals"]["items"] = -1
    bad["sources"][0]["coverage"] = "full"
    del bad["notes"]
    bad["surprise"] = 1
    bad["media"]["video"]["fields"]["duration"]["histogram"]["counts"][0] = 0.5
    errors = validate(bad)
    assert len(errors) == 5, errors
    text = " ".join(errors)
    for word in ("items", "coverage", "notes", "surprise", "counts"):
        assert word in text


def test_write_reports_refuses_invalid_stats(stats: dict, tmp_path: Path) -> None:
    bad = copy.deepcopy(stats)
    bad["schema_version"] = 99
    with pytest.raises(ValueError, match="schema"):
        write_reports(bad, tmp_path)
    assert not (tmp_path / "stats.json").exists()
