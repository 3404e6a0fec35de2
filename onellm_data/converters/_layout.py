"""Declared raw layouts: what a converter needs under its raw folder, so ``sources``, ``download --check`` and
``build``'s pre-flight check read the same declaration the converter itself reads from.

A ``Need`` is satisfied by any one of its alternatives: a file, or a folder (trailing ``/``) holding at least one
entry matching ``glob``. Archives are not needed: the extracted data is what the converter reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Need:
    what: str  # a few words for the user: "COCO caption annotations"
    alternatives: tuple[str, ...]  # paths relative to the raw folder; "dir/" for a folder
    glob: str = "*"  # what a folder alternative must hold (at least one match, searched recursively)
    required: bool = True

    def found(self, raw: Path) -> Path | None:
        """The first alternative present under ``raw``, or None."""
        for alternative in self.alternatives:
            path = raw / alternative.rstrip("/")
            if alternative.endswith("/"):
                if path.is_dir() and next(path.rglob(self.glob), None) is not None:
                    return path
            elif "*" in alternative:
                hit = next(iter(sorted(raw.glob(alternative))), None)
                if hit is not None:
                    return hit
            elif path.is_file():
                return path
        return None

    def describe(self) -> str:
        where = " or ".join(a + (self.glob if a.endswith("/") and self.glob != "*" else "") for a in self.alternatives)
        return f"{self.what}: {where}" + ("" if self.required else " (optional)")


@dataclass(frozen=True)
class LayoutCheck:
    raw: Path
    present: list[tuple[Need, Path]]
    missing: list[Need]

    @property
    def ok(self) -> bool:
        return not any(n.required for n in self.missing)

    def message(self) -> str:
        if not self.raw.exists():
            return f"{self.raw} does not exist"
        return "; ".join(f"missing {n.describe()}" for n in self.missing if n.required)


def check_layout(raw: Path, needs: tuple[Need, ...]) -> LayoutCheck:
    present, missing = [], []
    for need in needs:
        hit = need.found(raw) if raw.is_dir() else None
        if hit is None:
            missing.append(need)
        else:
            present.append((need, hit))
    return LayoutCheck(raw, present, missing)
