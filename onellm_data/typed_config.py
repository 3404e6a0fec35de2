"""Strict YAML → frozen dataclasses, driven by each dataclass's own type hints and field metadata.

Adding a config field is one line in its dataclass, e.g. ``seq_len: int = setting(2048, ge=8, le=1 << 20)``:
the reader takes the key from the field name, the type from the annotation, bounds and choices from
``setting(...)``, and treats a field without default as required. It refuses unknown and duplicate keys, values of
the wrong type (YAML ``'no'`` is a string, not a bool; ``true`` is not a number), NaN and infinities, and values
out of range. Every error names the file, the line and the dotted key (``r.yaml:12: data.mix[1].weight: ...``).
Supported annotations: bool, int, float, str, Path, Literal, ``X | None``, ``tuple[X, ...]``, ``tuple[X, Y]``,
``dict[str, X]``, nested dataclasses and Any (any YAML value whose numbers are finite).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from onellm_data.errors import OnellmDataError


class ConfigError(OnellmDataError):
    """A config file that cannot be used; ``file``, ``line`` and ``key`` locate the problem."""

    def __init__(self, file: Path | str, line: int | None, key: str, message: str) -> None:
        self.file, self.line, self.key, self.message = str(file), line, key, message
        where = f"{file}:{line}" if line else f"{file}"
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class InvalidField(ValueError):
    """Raised by a dataclass's ``__post_init__`` to blame one of its fields (by name) rather than the whole."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def setting(default: Any = MISSING, *, default_factory: Any = MISSING, ge: float | None = None,
            gt: float | None = None, le: float | None = None, lt: float | None = None,
            choices: tuple[Any, ...] | None = None,
            keys: tuple[str, ...] | None = None, nonempty: bool = False) -> Any:
    """A dataclass field with checks: numeric bounds (applied to every number inside the value), allowed
    ``choices`` for every string inside it, allowed mapping ``keys``, ``nonempty`` lists or mappings."""
    meta = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt), ("choices", choices), ("keys", keys))
            if v is not None}
    if nonempty:
        meta["nonempty"] = True
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


def internal(default: Any = None, **kwargs: Any) -> Any:
    """A dataclass field filled by the program, never read from the file."""
    if "default_factory" not in kwargs:
        kwargs["default"] = default
    return dataclasses.field(metadata={"internal": True}, **kwargs)


# -- YAML with line numbers ------------------------------------------------------------------------------------

class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _lines(node: yaml.Node, path: str, out: dict[str, int]) -> None:
    """Map every dotted key path (``data.mix[0].weight``) to the 1-based line it is written on."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = f"{path}.{key_node.value}" if path else str(key_node.value)
            out[child] = key_node.start_mark.line + 1
            _lines(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}[{i}]"
            out[child] = item.start_mark.line + 1
            _lines(item, child, out)


def load_yaml(path: Path, error: type[ConfigError] = ConfigError) -> tuple[Any, dict[str, int]]:
    """(parsed YAML, key path → line) of ``path``; unreadable files and invalid YAML raise ``error``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(path, None, "", f"cannot read: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(path, mark.line + 1 if mark else None, "", f"invalid YAML: {exc}") from exc
    lines: dict[str, int] = {"": 1}  # an empty file's errors point at its first line
    if node is not None:
        _lines(node, "", lines)
    return data, lines


# -- the reader ------------------------------------------------------------------------------------------------

@dataclass
class Reader:
    """Typed access to parsed YAML; ``path_hook`` turns a string into a ``Path`` (e.g. resolving it)."""

    file: Path
    lines: dict[str, int]
    error_type: type[ConfigError] = ConfigError
    path_hook: Callable[[str], Path] = Path

    def error(self, key: str, message: str) -> ConfigError:
        line, probe = self.lines.get(key), key
        while line is None and probe:  # fall back to the nearest written parent
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
            line = self.lines.get(probe)
        return self.error_type(self.file, line, key, message)

    def mapping(self, value: Any, key: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping, got {_shown(value)}")
        for name in value:
            if not isinstance(name, str):
                raise self.error(key, f"keys must be strings, got {name!r}")
        return value

    def build(self, cls: type, value: Any, key: str = "", **given: Any) -> Any:
        """An instance of dataclass ``cls`` from mapping ``value``; ``given`` fields are set by the caller."""
        data = self.mapping(value, key)
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal") and f.name not in given}
        for name in data:
            if name not in fields:
                raise self.error(_child(key, name), f"unknown key {name!r} (allowed: {', '.join(fields)})")
        kwargs = dict(given)
        for name, f in fields.items():
            if name in data:
                kwargs[name] = self.value(hints[name], data[name], _child(key, name), f.metadata)
            elif f.default is MISSING and f.default_factory is MISSING:
                raise self.error(_child(key, name), f"missing required key {name!r}")
        try:
            return cls(**kwargs)
        except InvalidField as exc:
            raise self.error(_child(key, exc.field), str(exc)) from exc
        except (TypeError, ValueError) as exc:  # a dataclass's own __post_init__ check
            raise self.error(key, str(exc)) from exc

    def value(self, tp: Any, value: Any, key: str, meta: typing.Mapping[str, Any] = {}) -> Any:  # noqa: B006
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (Union, types.UnionType):
            if value is None and type(None) in args:
                return None
            options = [a for a in args if a is not type(None)]
            if len(options) != 1:
                raise TypeError(f"{key}: unions other than 'X | None' are not supported")
            return self.value(options[0], value, key, meta)
        if tp is Any:
            return self._any(value, key, meta)
        if dataclasses.is_dataclass(tp):
            return self.build(tp, value, key)
        if origin is Literal:
            if value not in args:
                raise self.error(key, f"{_shown(value)} is not one of {', '.join(map(str, args))}")
            return value
        if origin is tuple:
            return self._tuple(args, value, key, meta)
        if origin is dict:
            return self._dict(args[1], value, key, meta)
        if tp is bool:
            if not isinstance(value, bool):
                raise self.error(key, f"expected true or false, got {_shown(value)}")
            return value
        if tp in (int, float):
            return self._number(tp, value, key, meta)
        if tp is str or tp is Path:
            if not isinstance(value, str):
                raise self.error(key, f"expected a string, got {_shown(value)}")
            if not value.strip() and (tp is Path or meta.get("nonempty")):
                raise self.error(key, "must not be empty")
            if meta.get("choices") is not None and value not in meta["choices"]:
                raise self.error(key, f"{value!r} is not one of {', '.join(meta['choices'])}")
            return self.path_hook(value) if tp is Path else value
        raise TypeError(f"{key}: unsupported config type {tp!r}")

    def _number(self, tp: type, value: Any, key: str, meta: typing.Mapping[str, Any]) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (tp is int and not isinstance(value, int)):
            raise self.error(key, f"expected {'an integer' if tp is int else 'a number'}, got {_shown(value)}")
        if not math.isfinite(value):
            raise self.error(key, f"must be a finite number, got {value}")
        for bound, ok, word in (("ge", lambda v, b: v >= b, ">="), ("gt", lambda v, b: v > b, ">"),
                                ("le", lambda v, b: v <= b, "<="), ("lt", lambda v, b: v < b, "<")):
            if bound in meta and not ok(value, meta[bound]):
                raise self.error(key, f"must be {word} {meta[bound]:g}, got {value:g}")
        return tp(value)

    def _tuple(self, args: tuple, value: Any, key: str, meta: typing.Mapping[str, Any]) -> tuple:
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {_shown(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            kinds = [args[0]] * len(value)
        elif len(value) != len(args):
            raise self.error(key, f"expected a list of {len(args)} values, got {len(value)}")
        else:
            kinds = list(args)
        if meta.get("nonempty") and not value:
            raise self.error(key, "must not be empty")
        return tuple(self.value(k, v, f"{key}[{i}]", meta) for i, (k, v) in enumerate(zip(kinds, value)))

    def _dict(self, item: Any, value: Any, key: str, meta: typing.Mapping[str, Any]) -> dict:
        data = self.mapping(value, key)
        allowed = meta.get("keys")
        for name in data:
            if allowed is not None and name not in allowed:
                raise self.error(_child(key, name), f"unknown key {name!r} (allowed: {', '.join(allowed)})")
        if meta.get("nonempty") and not data:
            raise self.error(key, "must not be empty")
        inner = {k: v for k, v in meta.items() if k != "keys"}
        return {name: self.value(item, v, _child(key, name), inner) for name, v in data.items()}

    def _any(self, value: Any, key: str, meta: typing.Mapping[str, Any]) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, f"must be a finite number, got {value}")
        if isinstance(value, list):
            return [self._any(v, f"{key}[{i}]", meta) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self._any(v, _child(key, str(k)), meta) for k, v in value.items()}
        return value


def _child(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _shown(value: Any) -> str:
    kind = "a string" if isinstance(value, str) else type(value).__name__
    return f"{value!r} ({kind})" if isinstance(value, (str, bool)) else f"{value!r}"
