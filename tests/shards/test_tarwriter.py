import hashlib
import tarfile

import pytest

from onellm_data.errors import CorpusError
from onellm_data.shards.tarwriter import TarShardWriter


def _write(path, samples):
    w = TarShardWriter(path)
    for key, members in samples:
        w.add_sample(key, members)
    return w.commit()


SAMPLES = [("k1", {"json": b"{}", "jpg": b"\xff" * 1000}), ("k2", {"json": b"{}", "depth.png": b"p" * 513, "jpg": b"j"})]


def test_tar_is_readable_with_fixed_headers_and_member_order(tmp_path):
    digest = _write(tmp_path / "a.tar", SAMPLES)
    assert digest == hashlib.sha256((tmp_path / "a.tar").read_bytes()).hexdigest()
    with tarfile.open(tmp_path / "a.tar") as tf:
        members = tf.getmembers()
        assert [m.name for m in members] == ["k1.json", "k1.jpg", "k2.json", "k2.depth.png", "k2.jpg"]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {(0, 0, 0, "", "", 0o644)}
        assert tf.extractfile("k2.depth.png").read() == b"p" * 513
    assert (tmp_path / "a.tar").stat().st_size % tarfile.RECORDSIZE == 0


def test_byte_identical_rewrites(tmp_path):
    assert _write(tmp_path / "a.tar", SAMPLES) == _write(tmp_path / "b.tar", SAMPLES)
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_nothing_at_final_name_until_commit(tmp_path):
    w = TarShardWriter(tmp_path / "c.tar")
    w.add_sample("k", {"json": b"{}"})
    assert not (tmp_path / "c.tar").exists()
    w.abort()
    assert list(tmp_path.iterdir()) == []


def test_full_disk_gives_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    w = TarShardWriter(tmp_path / "d.tar", buffer_size=0)

    class Full:
        def write(self, data):
            raise OSError(28, "No space left on device")

        def close(self):
            pass

    monkeypatch.setattr(w, "_fh", Full())
    with pytest.raises(CorpusError, match=r"cannot write .*d\.tar: no space left on device"):
        w.add_sample("k", {"json": b"{}"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name,size", [("a.json", 0), ("k" * 88 + ".normal.png", 123456789), ("x~1.jpg", 511)])
def test_fast_header_matches_tarfile(name, size):
    from onellm_data.shards.tarwriter import _header, _reference_header

    assert _header(name, size) == _reference_header(name, size)


def test_overlong_member_name_refused(tmp_path):
    w = TarShardWriter(tmp_path / "e.tar")
    with pytest.raises(ValueError, match="longer than 100"):
        w.add("n" * 101, b"")
    w.abort()
