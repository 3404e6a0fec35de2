"""report.html: one self-contained page (inline CSS and SVG, no script, no network) drawn from stats.json."""

from __future__ import annotations

from html import escape
from typing import Any

from onellm_data.stats import svg
from onellm_data.stats.fmt import field_label, human_bytes, num, pct
from onellm_data.stats.glance import GLANCE_HEADER, glance_rows

INTEGER_FIELDS = frozenset({"width", "height", "num_points", "num_frames", "fmri_reps", "fmri_voxels", "channels",
                            "sample_rate"})

CSS = """
body{font-family:sans-serif;margin:24px;color:#222;background:#fff;max-width:1180px}
h1{font-size:22px}h3{font-size:15px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
.grid{display:flex;flex-wrap:wrap;gap:16px}.grid svg{border:1px solid #eee;background:#fcfcfc}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px;max-width:100%}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;overflow-wrap:anywhere}
th:first-child,td:first-child{text-align:left}.text{text-align:left}
th{background:#f3f3f3;overflow-wrap:normal}.note{color:#8a5a00}
"""


def _table(header: list[str], rows: list[list[str]], text_columns: tuple[int, ...] = ()) -> str:
    """A table; ``text_columns`` (indices) are left-aligned prose (lists of names, examples)."""
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f'<th{" class=text" if i in text_columns else ""}>{escape(h)}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td{" class=text" if i in text_columns else ""}>{escape(str(c))}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _grid(figures: list[str]) -> str:
    return '<div class="grid">' + "".join(figures) + "</div>" if figures else ""


def _overview(stats: dict[str, Any]) -> list[str]:
    mods = stats["modalities"]
    src_colour = {s["source"]: svg.colour(s["modalities"][0] if s["modalities"] else "", i)
                  for i, s in enumerate(stats["sources"])}
    figures = [
        svg.bar_chart("Samples by modality", [(m["modality"], m["items"], svg.colour(m["modality"])) for m in mods]),
        svg.bar_chart("Bytes by modality", [(m["modality"], m["bytes"], svg.colour(m["modality"])) for m in mods],
                      fmt=human_bytes),
        svg.bar_chart("Samples by source", [(s["source"], s["items"], src_colour[s["source"]])
                                            for s in stats["sources"]]),
        svg.bar_chart("Shards by source", [(s["source"], s["shards"], src_colour[s["source"]])
                                           for s in stats["sources"]]),
    ]
    covered = [s for s in stats["sources"] if s["coverage"] is not None]
    if covered:
        figures.append(svg.bar_chart("Coverage of expected items", [(s["source"], s["coverage"],
                                                                     src_colour[s["source"]]) for s in covered],
                                     fmt=pct))
    out = ["<h2>Samples, bytes and shards</h2>", _grid(figures)]
    out.append(_table(["modality", "items", "bytes", "shards", "on disk", "sources"],
                      [[m["modality"], num(m["items"]), human_bytes(m["bytes"]), num(m["shards"]),
                        human_bytes(m["shard_bytes"]), ", ".join(m["sources"])] for m in mods], text_columns=(5,)))
    out.append(_table(["source", "modalities", "items", "bytes", "shards", "expected", "coverage", "answer tokens"],
                      [[s["source"], ", ".join(s["modalities"]), num(s["items"]), human_bytes(s["bytes"]),
                        num(s["shards"]), num(s["expected_items"]), pct(s["coverage"]), num(s["answer_tokens"])]
                       for s in stats["sources"]], text_columns=(1,)))
    return out


def _conversations(stats: dict[str, Any]) -> list[str]:
    conv = stats["conversations"]
    unit = "text_tokens" if conv["tokens_counted"] else "text_chars"
    figures = []
    overall = conv["overall"][unit]
    if overall["count"]:
        figures.append(svg.histogram(f"Histogram of {field_label(unit)} per conversation", overall["histogram"],
                                     "#4e79a7", field_label(unit)))
    answer = conv["overall"]["answer_tokens" if conv["tokens_counted"] else "answer_chars"]
    if answer["count"]:
        figures.append(svg.histogram("Histogram of answer " + ("tokens" if conv["tokens_counted"] else "chars"),
                                     answer["histogram"], "#f28e2b", "answer " + ("tokens" if conv["tokens_counted"]
                                                                                  else "chars")))
    boxes = [(m, f[unit]["box"], svg.colour(m)) for m, f in conv["by_modality"].items() if f[unit]["count"]]
    if boxes:
        figures.append(svg.box_plot(f"{field_label(unit)} by modality", boxes, field_label(unit), integer=True))
    turns = [(m, f["turns"]["box"], svg.colour(m)) for m, f in conv["by_modality"].items() if f["turns"]["count"]]
    if turns:
        figures.append(svg.box_plot("Turns by modality", turns, "turns", integer=True))
    rows = [[m, field_label(name), num(f[name]["count"]), num(f[name].get("p50")), num(f[name].get("mean")),
             num(f[name].get("p95")), num(f[name].get("max"))]
            for m, f in conv["by_modality"].items() for name in ("turns", "text_chars", "text_tokens", "answer_tokens")
            if f[name]["count"]]
    return ["<h2>Conversations</h2>", _grid(figures),
            _table(["modality", "field", "recorded", "median", "mean", "p95", "max"], rows)]


def _media(stats: dict[str, Any]) -> list[str]:
    media = stats["media"]
    if not media:
        return []
    out = ["<h2>Media</h2>"]
    figures = []
    for field in ("duration", "num_points", "fmri_reps", "window_coverage"):
        for modality, m in media.items():
            s = m["fields"].get(field)
            if s and s["count"] and len(s["histogram"]["counts"]) > 1:
                figures.append(svg.histogram(f"{modality}: {field_label(field)}", s["histogram"],
                                             svg.colour(modality), field_label(field),
                                             integer=field in INTEGER_FIELDS))
    for field in ("width", "height", "duration"):
        boxes = [(modality, m["fields"][field]["box"], svg.colour(modality)) for modality, m in media.items()
                 if field in m["fields"] and m["fields"][field]["count"]]
        if boxes:
            figures.append(svg.box_plot(f"{field_label(field)} by modality", boxes, field_label(field),
                                        integer=field in INTEGER_FIELDS))
    out.append(_grid(figures))
    for modality, m in media.items():
        out.append(f"<h3>{escape(modality)} ({num(m['items'])} samples)</h3>")
        out.append(_table(["field", "recorded", "min", "median", "mean", "p95", "max"],
                          [[field_label(f), num(s["count"]), num(s.get("min")), num(s.get("p50")), num(s.get("mean")),
                            num(s.get("p95")), num(s.get("max"))] for f, s in m["fields"].items()]))
        tops = [f"most frequent {field_label(f)}: " + ", ".join(f"{v['value']} ({num(v['count'])})" for v in values)
                for f, values in m["top"].items() if values]
        tops += [f"{field_label(f)}: {num(fl['true'])} of {num(fl['count'])} ({pct(fl['share'])})"
                 for f, fl in m["flags"].items()]
        out += [f"<p>{escape(t)}</p>" for t in tops]
    return out


def _rejects(stats: dict[str, Any]) -> list[str]:
    r = stats["rejects"]
    out = [f"<h2>Rejects ({num(r['total'])})</h2>"]
    reasons = r.get("reasons", [])
    if reasons:
        out.append(_grid([svg.bar_chart("Rejects by reason", [(x["reason"], x["count"], svg.colour("", i))
                                                              for i, x in enumerate(reasons)], width=640)]))
    out.append(_table(["reason", "count", "sources", "examples (source:id)"],
                      [[x["reason"], num(x["count"]), f"{len(x['sources'])}: {', '.join(x['sources'])}",
                        ", ".join(x["examples"])] for x in reasons], text_columns=(2, 3)))
    rates = [x for x in r["by_source"] if x["count"]]
    out.append(_table(["source", "rejects", "rate"], [[x["source"], num(x["count"]), pct(x["rate"])] for x in rates]))
    return out


def _mix(stats: dict[str, Any]) -> list[str]:
    mix = stats["mix"]
    if mix is None:
        return []
    out = [f"<h2>Mix of recipe {escape(mix['recipe'])} ({num(mix['num_batches'])} global batches)</h2>"]
    if mix["error"]:
        out.append(f'<p class="note">{escape(mix["error"])}</p>')
    rows = mix["rows"]
    if rows:
        labels = [f"{x['source']} ({x['modality']})" for x in rows]  # a source may feed several modalities
        out.append(_grid([svg.grouped_bars("Requested vs realised share", labels, [
            ("requested", [x["requested_share"] for x in rows], "#bab0ac"),
            ("samples", [x["sample_share"] for x in rows], "#4e79a7"),
            ("tokens", [x["token_share"] for x in rows], "#f28e2b")], fmt=pct, width=640)]))
        out.append(_table(["source", "modality", "requested", "samples", "tokens", "epochs"],
                          [[x["source"], x["modality"], pct(x["requested_share"]), pct(x["sample_share"]),
                            pct(x["token_share"]), num(x["epochs"])] for x in rows]))
    if mix.get("kept_out"):
        out.append("<h3>Kept out by the recipe's filters and exclude lists</h3>")
        out.append(_table(["source", "by", "samples", "of", "answer tokens"],
                          [[k["source"], k["filter"], num(k["samples"]), num(k["of"]), num(k["answer_tokens"])]
                           for k in mix["kept_out"]], text_columns=(1,)))
    return out


def quality_html(stats: dict[str, Any]) -> list[str]:
    q = stats.get("quality")
    if not q:
        return []
    out = ["<h2>Data quality</h2>"]
    d = q["dedup"]
    if d is not None:
        out.append(f"<h3>Duplicates across sources</h3><p>{num(d['groups'])} groups ({num(d['exact_groups'])} of "
                   f"identical media), {num(d['samples'])} samples in them, {num(d['excluded'])} on the exclude list "
                   "(quality/dedup_exclude.txt).</p>")
        out.append(_table(["source", "in a group", "excluded"],
                          [[x["source"], num(x["grouped"]), num(x["excluded"])] for x in d["by_source"]]))
    c = q["contamination"]
    if c is not None:
        methods = ("id", "exact", "near", "caption", "question")
        out.append(f"<h3>Evaluation contamination</h3><p>{num(c['samples_flagged'])} training samples overlap "
                   f"the evaluation sets (near: within {c['max_distance']} bits; list: "
                   "quality/contamination_exclude.txt).</p>")
        out.append(_table(["eval set", "modality", "items", "found in training", *methods],
                          [[e["eval_set"], e["modality"], num(e["items"]), num(e["items_found"]),
                            *(num(e["by_method"][m]) for m in methods)] for e in c["eval_sets"]]))
        out.append(_table(["source", "eval set", "samples", "of source", *methods, "examples"],
                          [[p["source"], p["eval_set"], num(p["samples"]), num(p["source_samples"]),
                            *(num(p["by_method"][m]) for m in methods),
                            "; ".join(f"{e['key']} ↔ {e['eval_item']} ({', '.join(e['methods'])})"
                                      for e in p["examples"])] for p in c["pairs"]], text_columns=(9,)))
        out += [f'<p class="note">{escape(n)}</p>' for n in c["notes"]]
    return out


def render_html(stats: dict[str, Any]) -> str:
    t = stats["totals"]
    head = (f"<p>{num(t['items'])} samples, {human_bytes(t['bytes'])} of members in {num(t['shards'])} shards "
            f"({human_bytes(t['shard_bytes'])} on disk), {t['sources']} sources, {t['modalities']} modalities, "
            f"{num(t['rejects'])} rejects.</p>")
    glance = (["<h2>Media at a glance</h2>", _table(GLANCE_HEADER, glance_rows(stats), text_columns=(2, 3, 4, 5, 6))]
              if stats["media"] else [])
    parts = [f"<h1>Corpus statistics: {escape(stats['corpus'])}</h1>", head, *glance, *_overview(stats),
             *_conversations(stats), *_media(stats), *_rejects(stats), *_mix(stats), *quality_html(stats)]
    deep = stats["deep"]
    if deep is not None:
        parts.append(f"<h2>Deep check</h2><p>{num(deep['shards_checked'])} shards, {num(deep['samples_checked'])} "
                     f"samples checked: {num(deep['problem_count'])} problem(s).</p>")
        parts.append(_table(["shard", "problem", "detail"], [[p["shard"], p["kind"], p["detail"]]
                                                             for p in deep["problems"]]))
    if stats["notes"]:
        parts.append("<h2>Notes</h2><ul>" + "".join(f'<li class="note">{escape(n)}</li>' for n in stats["notes"])
                     + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>onellm-data stats: {escape(stats['corpus'])}</title><style>{CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")
