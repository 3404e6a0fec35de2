"""``onellm-data train`` and ``torchrun -m model.train`` share one option parser, which ``--help`` prints."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from model.train import RunOptions, build_parser, options_from_args
from onellm_data.cli import app

OPTIONS = ["--out", "--corpus", "--max-steps", "--resume", "--workers", "--seed", "--parallel", "--log-every",
           "--save-every", "--precision", "--record-keys"]


def test_train_help_prints_the_shared_parser() -> None:
    result = CliRunner().invoke(app, ["train", "--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout == build_parser("onellm-data train").format_help()
    for option in OPTIONS:
        assert option in result.stdout, option
    assert "{ddp,fsdp}" in result.stdout


def test_defaults_and_parsed_options_reach_the_run(tmp_path) -> None:
    parser = build_parser()
    defaults = options_from_args(parser.parse_args(["recipes/demo.yaml", "--out", str(tmp_path)]))
    assert defaults == RunOptions(out_dir=tmp_path)
    assert defaults.workers == 2 and defaults.parallel == "ddp"
    given = options_from_args(parser.parse_args([
        "recipes/demo.yaml", "--out", str(tmp_path), "--corpus", str(tmp_path / "c"), "--max-steps", "7", "--resume",
        "--workers", "0", "--seed", "3", "--parallel", "fsdp", "--log-every", "2", "--save-every", "5",
        "--precision", "fp32", "--record-keys"]))
    assert given == RunOptions(out_dir=tmp_path, corpus=tmp_path / "c", max_steps=7, resume=True, workers=0, seed=3,
                               parallel="fsdp", log_every=2, save_every=5, precision="fp32", record_keys=True)
    with pytest.raises(SystemExit):
        parser.parse_args(["recipes/demo.yaml", "--parallel", "zero3"])
