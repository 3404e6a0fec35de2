"""Distribution summaries agree with numpy's own quantiles, histograms and counts."""

from __future__ import annotations

import numpy as np
import pytest

from onellm_data.stats.summary import pair_counts, share_true, summarize, value_counts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summary_matches_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(2, 1, 1001 + seed)
    values[::7] = np.nan
    s = summarize(values)
    present = values[~np.isnan(values)]
    assert (s["count"], s["missing"]) == (present.size, values.size - present.size)
    for name, q in (("p5", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95)):
        assert s[name] == pytest.approx(np.quantile(present, q), rel=1e-8)
    q1, q3 = np.quantile(present, [0.25, 0.75])
    inside = present[(present >= q1 - 1.5 * (q3 - q1)) & (present <= q3 + 1.5 * (q3 - q1))]
    box = s["box"]
    assert box["whisker_low"] == pytest.approx(inside.min()) and box["whisker_high"] == pytest.approx(inside.max())
    assert box["outliers"] == present.size - inside.size > 0
    counts, edges = np.histogram(present, bins=24)
    assert s["histogram"]["counts"] == counts.tolist()
    assert s["histogram"]["edges"] == pytest.approx(edges.tolist(), rel=1e-8)
    assert s["mean"] == pytest.approx(present.mean()) and s["std"] == pytest.approx(present.std())


def test_small_integer_ranges_get_one_bin_per_value() -> None:
    s = summarize(np.array([2, 2, 4, 6, 6, 6, np.nan]))
    assert s["histogram"]["edges"] == [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]
    assert s["histogram"]["counts"] == [2, 0, 1, 0, 3]
    assert summarize(np.array([3.0, 3.0]))["histogram"] == {"edges": [3, 3], "counts": [2]}
    assert summarize(np.array([np.nan])) == {"count": 0, "missing": 1}


def test_value_and_pair_counts() -> None:
    assert value_counts(np.array([16000, 44100, 16000, np.nan, 8000, 16000])) == [
        {"value": 16000, "count": 3}, {"value": 8000, "count": 1}, {"value": 44100, "count": 1}]
    w = np.array([640, 320, 640, np.nan, 640.5])
    h = np.array([480, 240, 480, 100, 480])
    assert pair_counts(w[:3], h[:3]) == [{"value": "640x480", "count": 2}, {"value": "320x240", "count": 1}]
    assert pair_counts(w, h)[0] == {"value": "640x480", "count": 2} and len(pair_counts(w, h)) == 3
    assert share_true(np.array([1.0, 0.0, np.nan, 1.0])) == {"count": 3, "true": 2, "share": pytest.approx(2 / 3)}
