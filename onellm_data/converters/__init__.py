"""Source converters, discovered by source name.

Every module in this package may define ``Converter`` subclasses with a class attribute ``name``; they are
registered under that name. Converter modules keep module-level imports light (codec libraries are imported
inside ``convert``) so discovery stays fast.

A new source is one small module built from the toolkit:

* ``base.Converter``: declare ``name``, ``modalities``, ``declared_options`` (``_options.Option``: type, default,
  help; checked on construction) and ``layout`` (``_layout.Need``: what ``sources``, ``download --check`` and
  ``build`` look for); build samples with ``self.sample(...)`` and pass every media path through
  ``self.media(...)`` (a reject when it leaves the source's folder after symlinks);
* ``_json_stream``: annotation files item by item (JSON with ijson, JSON lines, CSV text), a wrong shape
  raising ``AnnotationError``; ``_turns``: conversations (roles, placeholders, OneLLM's fixed prompts);
* ``_rejects``: the named reasons, and ``rejected(...)`` / ``malformed(...)`` for rows ``records()`` cannot use.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import Any

from onellm_data.converters.base import Converter
from onellm_data.errors import SettingError


@lru_cache(maxsize=1)
def registry() -> dict[str, type[Converter]]:
    found: dict[str, type[Converter]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Converter) and obj.__module__ == module.__name__:
                name = getattr(obj, "name", None)
                if name:
                    if name in found and found[name] is not obj:
                        raise RuntimeError(f"two converters named {name!r}: {found[name]} and {obj}")
                    found[name] = obj
    return found


def converter_class(name: str) -> type[Converter]:
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(sorted(registry()))
        raise SettingError(f"unknown source {name!r}; known converters: {known}") from None


def make_converter(name: str, raw: Any, **options: Any) -> Converter:
    return converter_class(name)(raw, **options)


__all__ = ["Converter", "converter_class", "make_converter", "registry"]
