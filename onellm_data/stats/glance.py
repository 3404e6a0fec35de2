"""Media at a glance: one row per modality with what a data engineer checks first (resolution, duration, points,
rate), from the media figures of stats.json. Shared by stats.md and report.html."""

from __future__ import annotations

from typing import Any

from onellm_data.stats.fmt import num

GLANCE_HEADER = ["modality", "samples", "resolution (most frequent)", "size (median W×H)", "duration (s) median "
                 "[p5–p95]", "points / frames", "rate"]


def _spread(s: dict[str, Any] | None) -> str:
    if not s or not s.get("count"):
        return "–"
    if s["p5"] == s["p95"]:
        return num(s["p50"])
    return f"{num(s['p50'])} [{num(s['p5'])}–{num(s['p95'])}]"


def _top(values: list[dict[str, Any]], unit: str = "", limit: int = 2) -> str:
    if not values:
        return "–"
    total = sum(v["count"] for v in values)
    return ", ".join(f"{v['value']}{unit} ({100 * v['count'] / total:.0f}%)" for v in values[:limit])


def glance_rows(stats: dict[str, Any]) -> list[list[str]]:
    rows = []
    for modality, m in stats["media"].items():
        f, top = m["fields"], m["top"]
        size = "–"
        if f.get("width", {}).get("count"):
            size = f"{num(f['width']['p50'])}×{num(f['height']['p50'])}"
        counts = "–"
        if f.get("num_points", {}).get("count"):
            counts = f"{_spread(f['num_points'])} points"
        elif f.get("num_frames", {}).get("count"):
            counts = f"{_spread(f['num_frames'])} frames"
        elif f.get("fmri_reps", {}).get("count"):
            counts = f"{_top(top.get('fmri_reps', []), ' reps')}; {_top(top.get('fmri_voxels', []), ' voxels', 1)}"
        rate = "–"
        if top.get("sample_rate"):
            rate = _top(top["sample_rate"], " Hz") + "; " + _top(top.get("channels", []), " ch", 2)
        elif top.get("fps"):
            rate = _top(top["fps"], " fps")
        elif top.get("imu_rate"):
            rate = _top(top["imu_rate"], " Hz")
        duration = _spread(f.get("duration") or f.get("window_length"))
        rows.append([modality, num(m["items"]), _top(top.get("resolution", [])), size, duration, counts, rate])
    return rows
