"""Declared converter options: each converter lists the ``-o key=value`` options it reads, with a type and a
help line, so a mistyped key or a value of the wrong type is an error before anything is converted, and
``onellm-data sources NAME`` can show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onellm_data.errors import OnellmDataError

KINDS = ("text", "int", "count", "path", "paths", "choice")


class ConverterOptionError(OnellmDataError):
    """An unknown option, a value of the wrong type, or a named file that does not exist."""


@dataclass(frozen=True)
class Option:
    """One converter option.

    ``kind``: ``text``; ``int``; ``count`` (an int, or ``all``/``none`` for no limit); ``path`` / ``paths`` (one
    or comma-separated files or folders under the raw folder, which must exist when given); ``choice`` (one of
    ``choices``). ``media``: the folder holds media, so naming it explicitly also allows reading media there
    (it may sit outside the raw folder).
    """

    name: str
    help: str
    kind: str = "text"
    default: Any = None
    choices: tuple[str, ...] = ()
    media: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name}: unknown kind {self.kind!r}")

    def describe(self) -> str:
        kind = "|".join(self.choices) if self.kind == "choice" else self.kind
        default = "" if self.default is None else f" (default {self.default})"
        return f"{self.name}=<{kind}>  {self.help}{default}"

    def check(self, value: Any, raw: Path, source: str) -> None:
        """Raise ``ConverterOptionError`` when ``value`` does not fit this option."""
        text = str(value).strip()
        where = f"{source}: option {self.name}={value!r}"
        if self.kind in ("int", "count"):
            if self.kind == "count" and text.lower() in ("all", "none", ""):
                return
            try:
                int(text)
            except ValueError:
                raise ConverterOptionError(f"{where} is not an integer"
                                           + (" (or all)" if self.kind == "count" else "")) from None
        elif self.kind == "choice" and text not in self.choices:
            raise ConverterOptionError(f"{where}: expected one of {', '.join(self.choices)}")
        elif self.kind in ("path", "paths"):
            parts = [p.strip() for p in text.split(",")] if self.kind == "paths" else [text]
            base = raw if raw.is_dir() else raw.parent
            for part in parts:
                if not part or not (base / part).exists():
                    raise ConverterOptionError(f"{where}: {base / part} does not exist")


# Options every converter accepts.
ALLOW_ROOT = Option("allow_root", "comma-separated folders outside the raw folder that media may be read from "
                    "(symlinked media trees)", "text")
COMMON: tuple[Option, ...] = (ALLOW_ROOT,)


def check_options(source: str, raw: Path, declared: tuple[Option, ...], given: dict[str, Any]) -> None:
    """Every given option is declared and fits its declaration; otherwise one error naming the valid keys."""
    known = {o.name: o for o in (*declared, *COMMON)}
    unknown = sorted(k for k in given if k not in known)
    if unknown:
        raise ConverterOptionError(
            f"{source}: unknown option(s) {', '.join(unknown)}; valid options: {', '.join(sorted(known))} "
            f"(see `onellm-data sources {source}`)")
    for key, value in given.items():
        known[key].check(value, raw, source)


def media_option_roots(raw: Path, declared: tuple[Option, ...], given: dict[str, Any]) -> list[Path]:
    """Folders named by media options (``-o images=/mnt/coco``) and ``allow_root``: explicitly allowed roots."""
    base = raw if raw.is_dir() else raw.parent
    roots = [Path(p.strip()) for p in str(given.get(ALLOW_ROOT.name, "")).split(",") if p.strip()]
    for option in declared:
        if option.media and given.get(option.name):
            roots += [base / p.strip() for p in str(given[option.name]).split(",") if p.strip()]
    return roots
