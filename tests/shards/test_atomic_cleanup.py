"""Cleanup of temporary files never touches files another live process (or machine) is writing."""

import os
import subprocess
import sys

from onellm_data.shards.atomic import HOST, TMP_PREFIX, remove_stale_tmp, tmp_path_for


def test_only_dead_local_writers_files_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    mine = tmp_path_for(tmp_path / "a" / "x-000000-000.tar")
    mine.parent.mkdir()
    files = {
        "live": mine,
        "dead": tmp_path / "a" / f"{TMP_PREFIX}{HOST}+{dead_pid}-x-000001-000.tar",
        "other_host": tmp_path / "a" / f"{TMP_PREFIX}other-node+{os.getpid()}-x-000002-000.tar",
        "legacy": tmp_path / "a" / f"{TMP_PREFIX}{dead_pid}-x-000003-000.tar",
    }
    for path in files.values():
        path.write_bytes(b"partial")
    assert remove_stale_tmp(tmp_path) == 2
    assert files["live"].exists() and files["other_host"].exists()
    assert not files["dead"].exists() and not files["legacy"].exists()
