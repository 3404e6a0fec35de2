import hashlib
import tarfile

import pyarrow as pa
import pytest

from onellm_data.errors import CorpusError
from onellm_data.loader.streams import sample_spans
from onellm_data.shards.tarwriter import TarShardWriter, member_span


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


def test_member_span_is_where_tarfile_finds_the_next_member(tmp_path):
    """The span the writer, the shard splitter and the loader share, checked against Python's tarfile reading the
    shard (sizes around the 512-byte block edge); the loader's per-sample sums add up to the next sample's offset."""
    samples = [("a", {"json": b""}), ("b", {"json": b"x", "jpg": b"j" * 511}), ("c", {"json": b"y" * 512}),
               ("d", {"json": b"z" * 513, "flac": b"f" * 1024})]
    path = tmp_path / "s.tar"
    w = TarShardWriter(path)
    starts = [w.add_sample(key, members) for key, members in samples]
    w.commit()
    with tarfile.open(path) as tar:
        infos = tar.getmembers()
    for info, after in zip(infos, [*infos[1:], None]):
        if after is not None:
            assert after.offset - info.offset == member_span(info.size)
    sizes = pa.array([[len(m[e]) for e in sorted(m, key=lambda e: (e != "json", e))] for _, m in samples],
                     pa.list_(pa.int64()))
    spans = sample_spans(sizes).tolist()
    assert [s + n for s, n in zip(starts, spans)][:-1] == starts[1:]
    assert spans == [member_span(0), member_span(1) + member_span(511), member_span(512),
                     member_span(513) + member_span(1024)] == [512, 1024 + 1024, 1024, 1536 + 1536]


def test_commit_fsyncs_the_file_then_renames_it_then_fsyncs_the_folder(tmp_path, monkeypatch):
    import os
    import stat

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst):
        events.append(("rename", os.path.dirname(src) == os.path.dirname(dst), os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    w = TarShardWriter(tmp_path / "f.tar")
    w.add_sample("k", {"json": b"{}"})
    assert events == []
    w.commit()
    assert events == ["fsync file", ("rename", True, "f.tar"), "fsync dir"]
