"""The ``onellm-data`` command line. Each command group lives in ``onellm_data/commands/<name>.py`` and
exposes ``register(app)``; this file discovers and assembles them. Command modules import heavy libraries
inside the command functions so ``--help`` stays fast."""

from __future__ import annotations

import importlib
import pkgutil

import typer

import onellm_data.commands as commands_pkg

app = typer.Typer(
    name="onellm-data",
    help="Build, verify and train on OneLLM-style multimodal instruction corpora "
    "(download → convert → shard → verify → stats → mix → train → eval).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

for _info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{commands_pkg.__name__}.{_info.name}").register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
