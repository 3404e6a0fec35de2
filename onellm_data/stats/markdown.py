"""stats.md: the summary tables of stats.json in Markdown."""

from __future__ import annotations

from typing import Any

from onellm_data.stats.fmt import field_label, human_bytes, num, pct
from onellm_data.stats.glance import GLANCE_HEADER, glance_rows


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["_none_", ""]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines + [""]


def _dist_rows(fields: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name, s in fields.items():
        if s["count"]:
            rows.append([field_label(name), num(s["count"]), num(s["min"]), num(s["p50"]), num(s["mean"]),
                         num(s["p95"]), num(s["max"])])
        else:
            rows.append([field_label(name), "0", "–", "–", "–", "–", "–"])
    return rows


DIST_HEADER = ["field", "recorded", "min", "median", "mean", "p95", "max"]
METHODS = ("id", "exact", "near", "caption", "question")


def _quality(q: dict[str, Any] | None) -> list[str]:
    if not q:
        return []
    out = ["## Data quality", ""]
    d = q["dedup"]
    if d is not None:
        out += [f"Duplicates across sources: {num(d['groups'])} groups ({num(d['exact_groups'])} of identical "
                f"media), {num(d['samples'])} samples in them, {num(d['excluded'])} on the exclude list "
                "(`quality/dedup_exclude.txt`).", ""]
        out += _table(["source", "in a group", "excluded"],
                      [[x["source"], num(x["grouped"]), num(x["excluded"])] for x in d["by_source"]])
    c = q["contamination"]
    if c is not None:
        out += [f"Evaluation contamination: {num(c['samples_flagged'])} training samples overlap the evaluation "
                f"sets (`quality/contamination.md`, `quality/contamination_exclude.txt`).", ""]
        out += _table(["eval set", "modality", "items", "found in training", *METHODS],
                      [[e["eval_set"], e["modality"], num(e["items"]), num(e["items_found"]),
                        *(num(e["by_method"][m]) for m in METHODS)] for e in c["eval_sets"]])
        out += _table(["source", "eval set", "samples", "of source", *METHODS],
                      [[p["source"], p["eval_set"], num(p["samples"]), num(p["source_samples"]),
                        *(num(p["by_method"][m]) for m in METHODS)] for p in c["pairs"]])
    return out


def render_markdown(stats: dict[str, Any]) -> str:
    t = stats["totals"]
    out = [f"# Corpus statistics: `{stats['corpus']}`", "",
           f"{num(t['items'])} samples, {human_bytes(t['bytes'])} of members in {num(t['shards'])} shards "
           f"({human_bytes(t['shard_bytes'])} on disk), {t['sources']} sources, {t['modalities']} modalities, "
           f"{num(t['rejects'])} rejects." + (f" Tokens: {num(t['text_tokens'])} in all turns, "
                                               f"{num(t['answer_tokens'])} in answers." if t["text_tokens"] is not None
                                               else ""), ""]
    if stats["media"]:
        out += ["## Media at a glance", ""] + _table(GLANCE_HEADER, glance_rows(stats))
    out += ["## By modality", ""]
    out += _table(["modality", "items", "bytes", "shards", "sources"],
                  [[m["modality"], num(m["items"]), human_bytes(m["bytes"]), num(m["shards"]), ", ".join(m["sources"])]
                   for m in stats["modalities"]])
    out += ["## By source", ""]
    out += _table(["source", "modalities", "items", "bytes", "shards", "expected", "coverage", "answer tokens"],
                  [[s["source"], ", ".join(s["modalities"]), num(s["items"]), human_bytes(s["bytes"]), num(s["shards"]),
                    num(s["expected_items"]), pct(s["coverage"]), num(s["answer_tokens"])] for s in stats["sources"]])
    e = stats["expected"]
    if e["available"] and e["sources_with_expectation"]:
        out += [f"Coverage over the {e['sources_with_expectation']} sources with a stated size: "
                f"{num(e['items'])} / {num(e['expected_items'])} = {pct(e['items'] / e['expected_items'])}.", ""]
    conv = stats["conversations"]
    out += ["## Conversations", ""]
    rows = []
    for modality, fields in conv["by_modality"].items():
        for name in ("turns", "text_chars", "text_tokens", "answer_tokens"):
            s = fields[name]
            if s["count"]:
                rows.append([modality, field_label(name), num(s["count"]), num(s["min"]), num(s["p50"]),
                             num(s["mean"]), num(s["p95"]), num(s["max"])])
    out += _table(["modality", *DIST_HEADER], rows)
    if stats["media"]:
        out += ["## Media", ""]
    for modality, m in stats["media"].items():
        out += [f"### {modality} ({num(m['items'])} samples)", ""]
        out += _table(DIST_HEADER, _dist_rows(m["fields"]))
        for name, values in m["top"].items():
            if values:
                out += [f"Most frequent {field_label(name)}: "
                        + ", ".join(f"{v['value']} ({num(v['count'])})" for v in values), ""]
        for name, flag in m["flags"].items():
            out += [f"{field_label(name)}: {num(flag['true'])} of {num(flag['count'])} ({pct(flag['share'])})", ""]
    r = stats["rejects"]
    out += ["## Rejects", ""]
    out += _table(["source", "rejects", "rate"], [[x["source"], num(x["count"]), pct(x["rate"])]
                                                  for x in r["by_source"] if x["count"]])
    out += _table(["reason", "count", "sources", "examples (source:id)"],
                  [[x["reason"], num(x["count"]), f"{len(x['sources'])}: {', '.join(x['sources'])}",
                    ", ".join(f"`{e}`" for e in x["examples"])] for x in r.get("reasons", [])])
    mix = stats["mix"]
    if mix is not None:
        out += [f"## Mix of recipe `{mix['recipe']}` ({num(mix['num_batches'])} global batches)", ""]
        if mix["error"]:
            out += [f"Not computed: {mix['error']}", ""]
        out += _table(["source", "modality", "requested", "samples", "tokens", "epochs"],
                      [[x["source"], x["modality"], pct(x["requested_share"]), pct(x["sample_share"]),
                        pct(x["token_share"]), num(x["epochs"])] for x in mix["rows"]])
        if mix.get("kept_out"):
            out += ["Kept out by the recipe's filters and exclude lists:", ""]
            out += _table(["source", "by", "samples", "of", "answer tokens"],
                          [[k["source"], k["filter"], num(k["samples"]), num(k["of"]), num(k["answer_tokens"])]
                           for k in mix["kept_out"]])
    deep = stats["deep"]
    if deep is not None:
        out += ["## Deep check (tars opened)", "",
                f"{num(deep['shards_checked'])} shards, {num(deep['samples_checked'])} samples checked: "
                f"{num(deep['problem_count'])} problem(s).", ""]
        if deep["problems"]:
            out += _table(["shard", "problem", "detail"], [[p["shard"], p["kind"], p["detail"]]
                                                           for p in deep["problems"]])
    out += _quality(stats.get("quality"))
    if stats["notes"]:
        out += ["## Notes", ""] + [f"- {n}" for n in stats["notes"]] + [""]
    return "\n".join(out)
