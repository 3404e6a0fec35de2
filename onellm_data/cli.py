"""The ``onellm-data`` command line. Each command group lives in ``onellm_data/commands/<name>.py``
and exposes ``register(app)``; this file only assembles them."""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES: tuple[str, ...] = (
    "onellm_data.commands.corpus",
)

app = typer.Typer(
    name="onellm-data",
    help="Build, verify and train on OneLLM-style multimodal instruction corpora "
    "(download → convert → shard → verify → stats → mix → train → eval).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
