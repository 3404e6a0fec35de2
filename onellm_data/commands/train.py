"""``onellm-data train RECIPE [options]``: the same entry point as ``torchrun -m model.train`` (one option
definition, ``model.train.build_parser``); ``onellm-data train --help`` prints it."""

from __future__ import annotations

import typer

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def register(app: typer.Typer) -> None:
    @app.command(context_settings=PASS_THROUGH, add_help_option=False)
    def train(ctx: typer.Context) -> None:
        """Train on the shards: freezing per the recipe, AdamW + warmup/cosine, per-modality loss, exact resume
        (options: onellm-data train --help)."""
        # model.train pulls in torch: imported when the command runs so that `onellm-data --help` stays fast.
        from model.train import main

        code = main(list(ctx.args), prog="onellm-data train")
        if code:
            raise typer.Exit(code)
