"""Bundled sample sources: tiny raw copies of every source in its official layout, generated on first use
with real codecs (ffmpeg videos, espeak-ng speech, NPY clouds, NIfTI volumes, Ego4D-style IMU CSVs ...).

Each module in this package exposes ``SOURCES: dict[str, Callable[[Path], None]]`` mapping a source (converter)
name to a function that writes that source's raw tree into the directory it is given.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path


def sample_sources() -> dict[str, Callable[[Path], None]]:
    found: dict[str, Callable[[Path], None]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, fn in getattr(module, "SOURCES", {}).items():
            if name in found:
                raise RuntimeError(f"two sample generators for source {name!r}")
            found[name] = fn
    return found


def generate_sample_raw(root: Path, sources: list[str] | None = None) -> dict[str, Path]:
    """Write the raw tree of each bundled sample source under ``root/<source>`` (skipping existing ones)."""
    out = {}
    for name, fn in sorted(sample_sources().items()):
        if sources and name not in sources:
            continue
        target = root / name
        done = target / ".generated"
        if not done.exists():
            if target.is_dir() and any(target.iterdir()):
                # A real download lives here: never write sample files over it.
                raise FileExistsError(f"{target} holds files that are not a generated sample; "
                                      "use another --raw-root for the bundled samples")
            target.mkdir(parents=True, exist_ok=True)
            fn(target)
            done.write_text("ok\n")
        out[name] = target
    return out
