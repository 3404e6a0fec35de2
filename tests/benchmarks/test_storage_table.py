"""README's storage table (one copy per item against each image stored once) is what ``bench_storage`` measures:
the sizes are exact byte counts of the shards, so every figure of a row is checked, not only the ratio."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from onellm_data.samples import generate_sample_raw
from tests.conftest import REALDATA

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_storage", ROOT / "benchmarks" / "bench_storage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_row(label: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith(f"| {label} "))
    return [c.strip() for c in line.strip().strip("|").split("|")][1:]


def assert_row_matches(label: str, items: int, media: int, each: int, once: int) -> None:
    """Each README figure equals the measured one at the README's own precision (``13,057 kB``, ``2.8 kB``)."""
    measured = [items, media / 1e3, each / 1e3, once / 1e3, each / once]
    shown = readme_row(label)
    assert len(shown) == len(measured), shown
    for cell, value in zip(shown, measured):
        number = cell.replace(",", "").removesuffix("kB").removesuffix("×").strip()
        decimals = len(number.partition(".")[2])
        assert float(number) == round(value, decimals), f"{label}: README says {cell}, measured {value}"


def test_sample_rows_match_the_benchmark(tmp_path: Path) -> None:
    bench = _bench()
    raws = generate_sample_raw(tmp_path / "raw", ["coco_captions", "llava_mix665k"])
    for source in ("coco_captions", "llava_mix665k"):
        _, *figures = bench.measure(f"{source} sample", source, raws[source], tmp_path)
        assert_row_matches(f"`{source}` sample", *figures)


@pytest.mark.slow
@pytest.mark.skipif(not (REALDATA / "coco").exists(), reason="real COCO subset only in the team checkout")
def test_real_coco_row_matches_the_benchmark(tmp_path: Path) -> None:
    _, *figures = _bench().measure("COCO real subset", "coco_captions", REALDATA / "coco", tmp_path)
    assert_row_matches("COCO real subset (`../shared/realdata/coco`)", *figures)
