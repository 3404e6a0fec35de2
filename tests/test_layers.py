"""The layers run one way. Every import statement in ``onellm_data/`` and ``model/`` is read with ``ast``,
function-local and ``TYPE_CHECKING`` ones included, so a cycle hidden inside a function is still a cycle.

- no import cycle between modules, nor between packages (``onellm_data.loader``, ``model``, ...);
- the data layer (``onellm_data``) never imports ``model``; only the application commands that need a model
  (train, eval, chat, demo) sit on top of both;
- ``model`` reaches ``onellm_data`` only through the loader, the codecs and the recipes (plus the shared error
  types, the sample schema, the prompts and the atomic-write helper), never the index, converters or pipeline
  internals.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("onellm_data", "model")
APPLICATION = {f"onellm_data.commands.{name}" for name in ("train", "eval", "chat", "demo", "_demo_eval", "quality",
                                                             "_demo_quality")}
# errors, schema and prompts are the shared vocabulary; typed_config is the recipes' reader; shards.atomic is the
# project's one atomic-file-write helper.
MODEL_MAY_USE = ("onellm_data.loader", "onellm_data.codecs", "onellm_data.recipes", "onellm_data.typed_config",
                 "onellm_data.errors", "onellm_data.schema", "onellm_data.prompts", "onellm_data.shards.atomic")


def module_files() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """First-party modules ``name`` imports anywhere in its file (``from a import b`` → ``a.b`` if a module)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem for a in node.names]
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name inside a module: its module
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def package_of(module: str, modules: set[str]) -> str:
    """``model`` is one package; ``onellm_data.loader.dataset`` belongs to ``onellm_data.loader``; a top-level
    module of ``onellm_data`` (``onellm_data.errors``) is its own node."""
    parts = module.split(".")
    if parts[0] == "model":
        return "model"
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_the_import_graph_is_read():
    edges = graph()
    assert "onellm_data.loader.template" in edges["onellm_data.loader.dataset"]
    assert "model.trainer" in edges["model.train"]
    assert "model.train" in edges["onellm_data.commands.train"]  # a function-local import counts


def edges_within(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """The import statements that close a cycle, for the failure message."""
    return [f"{a} -> {b}" for a in component for b in sorted(edges.get(a, ())) if b in component]


def test_no_import_cycle_between_modules():
    edges = graph()
    assert [edges_within(c, edges) for c in cycles(edges)] == []


def test_no_import_cycle_between_packages():
    edges = graph()
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in edges.items():
        mine = package_of(module, set(edges))
        packages[mine] |= {p for t in targets if (p := package_of(t, set(edges))) != mine}
    offending = []
    for component in cycles(dict(packages)):
        offending.append([f"{m} -> {t}" for m in sorted(edges) for t in sorted(edges[m])
                          if package_of(m, set(edges)) in component and package_of(t, set(edges)) in component
                          and package_of(m, set(edges)) != package_of(t, set(edges))])
    assert offending == []


def test_the_data_layer_never_imports_the_model():
    offenders = {m: sorted(t for t in targets if t.startswith("model"))
                 for m, targets in graph().items() if m.startswith("onellm_data") and m not in APPLICATION}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_the_model_uses_only_loader_codecs_and_recipes():
    offenders = {m: sorted(t for t in targets if t.startswith("onellm_data")
                           and not any(t == allowed or t.startswith(allowed + ".") for allowed in MODEL_MAY_USE))
                 for m, targets in graph().items() if m.startswith("model")}
    assert {m: t for m, t in offenders.items() if t} == {}


# The README's layers ("Layout of the code"), lowest first: a package may import its own layer and those below.
LAYERS = (
    ("onellm_data.schema", "onellm_data.errors", "onellm_data.prompts", "onellm_data.typed_config",
     "onellm_data.bundled", "onellm_data.progress", "onellm_data.index_tokens", "onellm_data.codecs",
     "onellm_data.shards"),
    ("onellm_data.manifests", "onellm_data.download", "onellm_data.converters", "onellm_data.pipeline",
     "onellm_data.index", "onellm_data.verify", "onellm_data.quality", "onellm_data.interop",
     "onellm_data.samples"),
    ("onellm_data.recipes", "onellm_data.loader", "onellm_data.stats", "onellm_data.verify_decode"),
    ("model",),
    ("onellm_data.commands", "onellm_data.cli", "onellm_data"),
)


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    modules = set(edges)
    layer = {package: i for i, packages in enumerate(LAYERS) for package in packages}
    unplaced = sorted({package_of(m, modules) for m in modules} - set(layer))
    assert unplaced == [], f"packages not placed in LAYERS (add them where the README puts them): {unplaced}"
    return sorted(f"{m} (layer {layer[package_of(m, modules)] + 1}) -> {t} (layer {layer[package_of(t, modules)] + 1})"
                  for m, targets in edges.items() for t in targets
                  if layer[package_of(t, modules)] > layer[package_of(m, modules)])


def test_every_import_goes_down_the_layers():
    assert layer_violations(graph()) == []


def test_an_upward_import_is_found():
    """The check itself: a codec importing the loader goes up two layers."""
    edges = {"onellm_data.codecs.video": {"onellm_data.loader.dataset"}, "onellm_data.loader.dataset": set()}
    assert layer_violations(edges) == ["onellm_data.codecs.video (layer 1) -> onellm_data.loader.dataset (layer 3)"]


def test_a_cycle_is_found():
    """The detector itself: a function-local back-import makes a two-module cycle."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
