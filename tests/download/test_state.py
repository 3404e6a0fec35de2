"""The per-source download state file: written atomically through the project's one helper."""

from __future__ import annotations

import pytest

from onellm_data.download.state import STATE_NAME, SourceState
from onellm_data.errors import CorpusError


def test_state_round_trips_and_leaves_no_temporary_file(tmp_path):
    state = SourceState(tmp_path / "src")
    state.mark_extracted("a.zip", 3)
    state.save()
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == [STATE_NAME]
    assert SourceState(tmp_path / "src").data["extracted"] == {"a.zip": {"members": 3}}


def test_unwritable_state_is_a_clear_error_naming_the_file(tmp_path):
    blocker = tmp_path / "src"
    blocker.write_text("a file where the source directory should be")
    state = SourceState(blocker)
    with pytest.raises(CorpusError, match=rf"cannot write .*{STATE_NAME}"):
        state.save()
