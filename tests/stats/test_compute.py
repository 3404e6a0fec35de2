"""Figures from the index equal counts computed independently (from the raw jsonl, the tars on disk, the
tokenizer, and the arrays the constructed index was made from)."""

from __future__ import annotations

import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm

from onellm_data.manifests import expected_items
from onellm_data.stats import compute_stats
from tests.stats.corpus import TOKENIZER, accepted_jsonl_lines, build_stats_corpus


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    corpus, raw, synth = build_stats_corpus(tmp_path_factory.mktemp("stats"))
    return corpus, raw, synth, compute_stats(corpus)


def _tar_sizes(corpus: Path, modality: str) -> tuple[int, int, int, int]:
    """(shards, shard file bytes, samples, member bytes) of the jsonl source's tars of one modality."""
    tars = sorted((corpus / modality / "jsonl").glob("*.tar"))
    keys, member_bytes = set(), 0
    for path in tars:
        with tarfile.open(path) as tar:
            for info in tar:
                keys.add(info.name.split(".", 1)[0])
                member_bytes += info.size
    return len(tars), sum(p.stat().st_size for p in tars), len(keys), member_bytes


def test_jsonl_sizes_match_the_tars(built) -> None:
    corpus, raw, _, stats = built
    groups = {(g["modality"], g["source"]): g for g in stats["groups"]}
    lines = accepted_jsonl_lines(raw)
    for modality in ("image", "text"):
        shards, shard_bytes, samples, member_bytes = _tar_sizes(corpus, modality)
        g = groups[(modality, "jsonl")]
        assert g["items"] == samples == sum(1 for rec in lines if rec["modality"] == modality)
        assert (g["shards"], g["shard_bytes"], g["bytes"]) == (shards, shard_bytes, member_bytes)
    assert groups[("image", "jsonl")]["items"] == 12 and groups[("text", "jsonl")]["items"] == 3


def test_conversation_figures_match_tokenizer_and_text(built) -> None:
    _, raw, synth, stats = built
    sp = spm.SentencePieceProcessor(model_file=str(TOKENIZER))
    lines = accepted_jsonl_lines(raw)
    tokens = sum(len(sp.encode(t["value"])) for rec in lines for t in rec["conversations"])
    answers = sum(len(sp.encode(t["value"])) for rec in lines for t in rec["conversations"] if t["from"] == "gpt")
    jsonl = next(s for s in stats["sources"] if s["source"] == "jsonl")
    assert (jsonl["text_tokens"], jsonl["answer_tokens"]) == (tokens, answers)
    synth_tokens = sum(int(c["text_tokens"].sum()) for c in synth.columns.values())
    assert stats["totals"]["text_tokens"] == tokens + synth_tokens
    assert stats["conversations"]["tokens_counted"] is True

    text = stats["conversations"]["by_modality"]["text"]
    chars = [sum(len(t["value"]) for t in rec["conversations"]) for rec in lines if rec["modality"] == "text"]
    assert text["text_chars"]["sum"] == sum(chars) and text["text_chars"]["max"] == max(chars)
    assert text["turns"]["mean"] == 2
    video = synth.columns["synth_video"]
    got = stats["conversations"]["by_modality"]["video"]["answer_tokens"]
    assert got["p50"] == pytest.approx(float(np.median(video["answer_tokens"])))
    assert got["histogram"]["counts"] and sum(got["histogram"]["counts"]) == len(video["answer_tokens"])


def test_media_figures_match_the_constructed_index(built) -> None:
    _, _, synth, stats = built
    media = stats["media"]
    video, audio = synth.columns["synth_video"], synth.columns["synth_audio"]
    d = media["video"]["fields"]["duration"]
    assert d["count"] == 20 and d["missing"] == 0
    assert d["mean"] == pytest.approx(video["duration"].mean(), abs=1e-5)
    assert (d["min"], d["max"]) == (pytest.approx(video["duration"].min()), pytest.approx(video["duration"].max()))
    assert d["p75"] == pytest.approx(np.quantile(video["duration"], 0.75), abs=1e-5)
    assert d["box"]["q1"] <= d["box"]["median"] <= d["box"]["q3"]
    fps = {v["value"]: v["count"] for v in media["video"]["top"]["fps"]}
    assert fps == dict(Counter(video["fps"].tolist()))
    assert {v["value"]: v["count"] for v in media["video"]["top"]["resolution"]} == {"320x240": 10, "640x480": 10}
    assert {v["value"]: v["count"] for v in media["audio"]["top"]["sample_rate"]} == {16000: 7, 44100: 4}
    assert media["audio"]["fields"]["duration"]["sum"] == pytest.approx(audio["duration"].sum(), abs=1e-5)
    point = synth.columns["synth_point"]
    assert media["point"]["fields"]["num_points"]["max"] == int(point["num_points"].max())
    assert media["point"]["flags"]["has_color"] == {"count": 8, "true": int(point["has_color"].sum()),
                                                     "share": pytest.approx(point["has_color"].mean())}
    imu = synth.columns["synth_imu"]
    coverage = imu["imu_span"] / (imu["window_end"] - imu["window_start"])
    assert media["imu"]["fields"]["window_coverage"]["mean"] == pytest.approx(coverage.mean(), abs=1e-5)
    assert media["imu"]["fields"]["window_length"]["min"] == 2
    assert {v["value"]: v["count"] for v in media["fmri"]["top"]["fmri_reps"]} == {3: 3, 1: 1, 2: 1}
    assert media["depth"]["flags"]["map_resized"]["true"] == 1
    # jsonl images carry no width: 12 missing, only coco_captions' 3 recorded.
    assert media["image"]["fields"]["width"]["count"] == 3 and media["image"]["fields"]["width"]["missing"] == 12
    assert "text" not in media


def test_sizes_shards_rejects_and_coverage(built) -> None:
    _, _, synth, stats = built
    rows = {s["source"]: s for s in stats["sources"]}
    for source, cols in synth.columns.items():
        assert rows[source]["items"] == len(cols["bytes"])
        assert rows[source]["bytes"] == int(cols["bytes"].sum())
        assert rows[source]["shards"] == 2 and rows[source]["shard_bytes"] == sum(synth.shard_bytes[source])
    by_reason = Counter({(r["source"], r["reason"]): r["count"] for r in stats["rejects"]["by_reason"]})
    expected = Counter((s, r) for s, reasons in synth.rejects.items() for r in reasons)
    expected.update({("jsonl", r): 1 for r in ("missing media file", "roles out of order", "duplicate id",
                                               "malformed annotation row")})
    assert by_reason == expected
    assert stats["rejects"]["total"] == sum(expected.values())
    # Grouped by reason over all sources: counts, sources, up to 3 examples from different sources first.
    reasons = {r["reason"]: r for r in stats["rejects"]["reasons"]}
    for reason in {r for _, r in expected}:
        assert reasons[reason]["count"] == sum(n for (_, r), n in expected.items() if r == reason)
        assert reasons[reason]["sources"] == sorted({s for s, r in expected if r == reason})
        assert 1 <= len(reasons[reason]["examples"]) <= 3
    corrupt = reasons["corrupt media"]
    assert len({e.split(":")[0] for e in corrupt["examples"]}) == min(3, len(corrupt["sources"]))
    assert all(e.split(":", 1)[1].startswith("bad") for e in corrupt["examples"])
    assert [r["count"] for r in stats["rejects"]["reasons"]] == sorted((r["count"] for r in reasons.values()),
                                                                       reverse=True)
    jsonl = next(r for r in stats["rejects"]["by_source"] if r["source"] == "jsonl")
    assert jsonl["rate"] == pytest.approx(4 / 19, abs=1e-6)
    mods = {m["modality"]: m for m in stats["modalities"]}
    assert mods["image"]["items"] == 15 and set(mods["image"]["sources"]) == {"coco_captions", "jsonl"}
    assert stats["totals"]["items"] == sum(m["items"] for m in stats["modalities"]) == 15 + 3 + sum(
        len(c["bytes"]) for s, c in synth.columns.items() if s != "coco_captions")
    expected_coco = expected_items()["coco_captions"]
    assert rows["coco_captions"]["expected_items"] == expected_coco
    assert rows["coco_captions"]["coverage"] == pytest.approx(3 / expected_coco)
    assert rows["jsonl"]["expected_items"] is None and rows["jsonl"]["coverage"] is None


def test_missing_manifests_degrade_to_a_note(built, monkeypatch: pytest.MonkeyPatch) -> None:
    import onellm_data.manifests as manifests

    def broken() -> dict[str, int]:
        raise RuntimeError("no manifests here")

    monkeypatch.setattr(manifests, "expected_items", broken)
    stats = compute_stats(built[0])
    assert stats["expected"]["available"] is False
    assert all(s["coverage"] is None for s in stats["sources"])
    assert any("no manifests here" in n for n in stats["notes"])


def test_corpus_without_tokens_notes_it(tmp_path: Path) -> None:
    from onellm_data.pipeline import ShardSettings, run_conversion
    from onellm_data.converters.jsonl import JsonlConverter
    from tests.conftest import write_jsonl_source

    write_jsonl_source(tmp_path / "raw", bad=False)
    run_conversion(JsonlConverter(tmp_path / "raw"), tmp_path / "c", ShardSettings(max_count=50, tokenizer=""))
    stats = compute_stats(tmp_path / "c")
    assert stats["totals"]["text_tokens"] is None and stats["conversations"]["tokens_counted"] is False
    assert stats["rejects"]["total"] == 0 and stats["totals"]["items"] == 15
    assert any("without --tokenizer" in n for n in stats["notes"])


def test_not_a_corpus_is_a_clear_error(tmp_path: Path) -> None:
    from onellm_data.errors import CorpusError

    with pytest.raises(CorpusError, match="no index table"):
        compute_stats(tmp_path)


def test_row_groups_with_different_dictionaries(built, tmp_path: Path) -> None:
    """Sources/modalities read dictionary-encoded per row group must still be counted under the right label."""
    import shutil

    import pyarrow.parquet as pq

    corpus = tmp_path / "c"
    shutil.copytree(built[0] / "index", corpus / "index")
    table = pq.read_table(corpus / "index" / "samples.parquet")
    table = table.take(np.random.default_rng(0).permutation(table.num_rows))  # mix sources across row groups
    pq.write_table(table, corpus / "index" / "samples.parquet", row_group_size=7)
    assert pq.ParquetFile(corpus / "index" / "samples.parquet").num_row_groups > 5
    stats = compute_stats(corpus)
    df = table.select(["modality", "source", "bytes"]).to_pandas()
    expected = {k: (len(g), int(g["bytes"].sum())) for k, g in df.groupby(["modality", "source"])}
    assert {(g["modality"], g["source"]): (g["items"], g["bytes"]) for g in stats["groups"]} == expected
    assert stats["media"]["video"]["fields"]["duration"] == built[3]["media"]["video"]["fields"]["duration"]
