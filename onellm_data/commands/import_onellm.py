"""``onellm-data import-onellm``: OneLLM's released instruction JSONs + their media -> our shards, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from onellm_data.commands._outcome import DEFAULT_MAX_REJECT_SHARE
from onellm_data.commands.corpus import MaxRejectShare, Workers, check_outcomes, convert_sources, print_summary


def register(app: typer.Typer) -> None:
    @app.command("import-onellm")
    def import_onellm(
        json_or_dir: Annotated[Path, typer.Argument(help="A released JSON (e.g. image/cococap_train.json) or a "
                                                           "folder of them (datasets/InstructionTuning).")],
        media_root: Annotated[Optional[Path], typer.Option(help="Folder the items' media paths are relative to "
                                                                "(default: the JSON's folder).")] = None,
        out: Annotated[Path, typer.Option(help="Corpus directory to write shards and index into.")] = Path("corpus"),
        workers: Workers = 2,
        max_count: Annotated[int, typer.Option(help="Samples per shard.")] = 10_000,
        partition_size: Annotated[int, typer.Option(help="Records per partition (the unit of resume).")] = 10_000,
        tokenizer: Annotated[Optional[Path], typer.Option(help="SentencePiece model to count tokens.")] = None,
        retry_rejects: Annotated[bool, typer.Option(help="Redo partitions that recorded rejects.")] = False,
        overwrite: Annotated[bool, typer.Option(help="Replace an import made with other settings.")] = False,
        name: Annotated[str, typer.Option(help="Source name of the imported samples.")] = "onellm_release",
        max_reject_share: MaxRejectShare = DEFAULT_MAX_REJECT_SHARE,
    ) -> None:
        """Import OneLLM's released instruction files (every modality) into a corpus (resumable: rerun to continue)."""
        from onellm_data.pipeline import ShardSettings

        if not json_or_dir.exists():
            raise FileNotFoundError(f"{json_or_dir} does not exist")
        root = media_root or (json_or_dir if json_or_dir.is_dir() else json_or_dir.parent)
        settings = ShardSettings(max_count, 1 << 30, partition_size, str(tokenizer) if tokenizer else None)
        options = {"media_root": str(root.resolve()), "source": name}
        summaries = convert_sources([("onellm_release", json_or_dir)], out, settings, workers,
                                    retry_rejects=retry_rejects, overwrite=overwrite, options=options)
        print_summary(summaries)
        check_outcomes(summaries, max_reject_share)
