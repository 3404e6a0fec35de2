"""The ``onellm-data`` command line. Each command group lives in ``onellm_data/commands/<name>.py`` and
exposes ``register(app)``; this file discovers and assembles them, and owns the one place where a user-facing
error becomes a one-line message and exit status 2. Command modules import heavy libraries inside the command
functions so ``--help`` stays fast."""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from typing import Annotated, Any, Optional

import click
import typer
from typer.core import TyperGroup

import onellm_data.commands as commands_pkg
from onellm_data.errors import OnellmDataError

ERROR_EXIT = 2
# Errors a user causes (bad paths, bad files, bad settings): printed as one line, never as a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (OnellmDataError, FileNotFoundError, FileExistsError,
                                                NotADirectoryError, IsADirectoryError, PermissionError)


class _Group(TyperGroup):
    """Turns every user-facing error raised by any command into ``error: <message>`` on stderr, exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(ERROR_EXIT) from exc


def package_version() -> str:
    try:
        return importlib.metadata.version("onellm-data")
    except importlib.metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


app = typer.Typer(
    name="onellm-data",
    cls=_Group,
    help="Build, verify and train on OneLLM-style multimodal instruction corpora "
    "(download → convert → shard → verify → stats → mix → train → eval).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"onellm-data {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option("--version", "-V", callback=_print_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """Build, verify and train on OneLLM-style multimodal instruction corpora
    (download → convert → shard → verify → stats → mix → train → eval)."""


for _info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{commands_pkg.__name__}.{_info.name}").register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
