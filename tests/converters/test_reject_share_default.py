"""The default reject limit is half of a run's records: exactly half rejected passes, more fails with exit 1."""

import pytest

from tests.converters.test_cli_checks import cli, jsonl_raw


@pytest.mark.parametrize("good, missing, code", [(2, 2, 0), (2, 3, 1), (3, 2, 0)])
def test_default_max_reject_share_is_one_half(tmp_path, good, missing, code):
    raw = jsonl_raw(tmp_path, good, missing)
    got, out = cli("convert", "jsonl", "--raw", raw, "--out", tmp_path / "c", "-j", "1")
    assert got == code, out
    if code:
        assert f"rejected {missing} of {good + missing} records" in out and f"missing media file ({missing})" in out
