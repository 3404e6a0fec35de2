"""safe_extract: good archives of every kind extract; malicious ones are refused with nothing written outside."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import py7zr
import pytest

from onellm_data.download.errors import ArchiveTooLargeError, UnsafeArchiveError
from onellm_data.download.extract import ExtractLimits, safe_extract


def _tar(path: Path, members: list[tuple[str, bytes | None, str | None, int]], mode: str = "w") -> Path:
    """members: (name, data, linkname, type) with type one of tarfile.REGTYPE/SYMTYPE/LNKTYPE/CHRTYPE."""
    with tarfile.open(path, mode) as tar:
        for name, data, link, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if link is not None:
                info.linkname = link
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _zip(path: Path, members: list[tuple[str, bytes, int | None]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def _outside_untouched(tmp_path: Path) -> None:
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize("kind, mode", [("tar", "w"), ("tar.gz", "w:gz")])
def test_good_tar_extracts_with_internal_symlink(tmp_path: Path, kind: str, mode: str) -> None:
    archive = _tar(tmp_path / f"a.{kind}", [("d/a.txt", b"hello", None, tarfile.REGTYPE),
                                            ("d/link", None, "a.txt", tarfile.SYMTYPE)], mode)
    target = tmp_path / "out"
    assert safe_extract(archive, target) == 2
    assert (target / "d/a.txt").read_bytes() == b"hello" and (target / "d/link").read_bytes() == b"hello"


def test_split_tar_gz_parts_extract_as_one_stream_with_strip(tmp_path: Path) -> None:
    whole = _tar(tmp_path / "w.tar.gz", [(f"8192_npy/{i}.npy", bytes([i]) * 5000, None, tarfile.REGTYPE)
                                         for i in range(20)], "w:gz")
    data = whole.read_bytes()
    (tmp_path / "split_aa").write_bytes(data[: len(data) // 2])
    (tmp_path / "split_ab").write_bytes(data[len(data) // 2:])
    target = tmp_path / "objaverse_data"
    n = safe_extract([tmp_path / "split_aa", tmp_path / "split_ab"], target, "tar.gz", strip_components=1)
    assert n == 20 and (target / "7.npy").read_bytes() == bytes([7]) * 5000


@pytest.mark.parametrize("name", ["../evil.txt", "d/../../evil.txt"])
def test_tar_traversal_refused(tmp_path: Path, name: str) -> None:
    archive = _tar(tmp_path / "a.tar", [(name, b"x", None, tarfile.REGTYPE)])
    with pytest.raises(UnsafeArchiveError, match="climbs out"):
        safe_extract(archive, tmp_path / "out")
    _outside_untouched(tmp_path)


def test_tar_absolute_path_refused(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "a.tar", [(str(tmp_path / "evil.txt"), b"x", None, tarfile.REGTYPE)])
    with pytest.raises(UnsafeArchiveError, match="absolute path"):
        safe_extract(archive, tmp_path / "out")
    _outside_untouched(tmp_path)


@pytest.mark.parametrize("link", ["../../outside", "/etc"])
def test_tar_symlink_pointing_out_refused(tmp_path: Path, link: str) -> None:
    archive = _tar(tmp_path / "a.tar", [("d/link", None, link, tarfile.SYMTYPE)])
    with pytest.raises(UnsafeArchiveError, match="link"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "d" / "link").is_symlink()


def test_tar_write_through_an_earlier_symlink_refused(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    # A link inside the target that points to a sibling of the target, then a file "through" it.
    archive = _tar(tmp_path / "a.tar", [("sneaky", None, "../outside", tarfile.SYMTYPE),
                                        ("sneaky/evil.txt", b"x", None, tarfile.REGTYPE)])
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "outside" / "evil.txt").exists()


def test_tar_hard_link_out_refused(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "a.tar", [("h", None, "../../etc/passwd", tarfile.LNKTYPE)])
    with pytest.raises(UnsafeArchiveError, match="climbs out"):
        safe_extract(archive, tmp_path / "out")


def test_tar_device_refused(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "a.tar", [("dev/null", None, None, tarfile.CHRTYPE)])
    with pytest.raises(UnsafeArchiveError, match="device"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "dev" / "null").exists()


def test_good_zip_extracts(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", [("train2017/1.jpg", b"jpg", None), ("train2017/2.jpg", b"jpg2", None)])
    assert safe_extract(archive, tmp_path / "coco") == 2
    assert (tmp_path / "coco/train2017/2.jpg").read_bytes() == b"jpg2"


@pytest.mark.parametrize("name, message", [("../evil.txt", "climbs out"), ("/tmp/evil.txt", "absolute path"),
                                           ("C:/evil.txt", "absolute path")])
def test_zip_traversal_and_absolute_refused_before_anything_is_written(tmp_path: Path, name: str,
                                                                       message: str) -> None:
    archive = _zip(tmp_path / "a.zip", [("ok.txt", b"fine", None), (name, b"x", None)])
    with pytest.raises(UnsafeArchiveError, match=message):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "ok.txt").exists()  # zip members are all checked first
    _outside_untouched(tmp_path)


def test_zip_symlink_pointing_out_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", [("link", b"../outside", stat.S_IFLNK | 0o777)])
    with pytest.raises(UnsafeArchiveError, match="'link' is a symlink"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "link").is_symlink()


def test_7z_good_and_traversal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.7z"
    with py7zr.SevenZipFile(good, "w") as z:
        z.writestr(b"clip", "audio/1.wav")
    assert safe_extract(good, tmp_path / "out") == 1
    assert (tmp_path / "out/audio/1.wav").read_bytes() == b"clip"
    bad = tmp_path / "bad.7z"
    # py7zr refuses to write such a name; a hostile tool would not, so lift its writer-side check.
    monkeypatch.setattr(py7zr.py7zr, "check_archive_path", lambda name: True)
    with py7zr.SevenZipFile(bad, "w") as z:
        z.writestr(b"x", "../evil.txt")
    monkeypatch.undo()
    with pytest.raises(UnsafeArchiveError, match="climbs out"):
        safe_extract(bad, tmp_path / "out2")
    _outside_untouched(tmp_path)


def test_not_an_archive_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(UnsafeArchiveError, match="not a readable zip"):
        safe_extract(junk, tmp_path / "out")


def test_zip_link_chain_cannot_write_outside(tmp_path: Path) -> None:
    """t -> ., f -> t/../x, then a regular f: each link passes a per-member check, the write would land in x."""
    archive = _zip(tmp_path / "a.zip", [("t", b".", stat.S_IFLNK | 0o777), ("f", b"t/../x", stat.S_IFLNK | 0o777),
                                        ("f", b"escaped", stat.S_IFREG | 0o644)])
    with pytest.raises(UnsafeArchiveError, match="'t' is a symlink"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "x").exists()
    assert not any(p.is_symlink() for p in (tmp_path / "out").iterdir())


def test_zip_member_replaces_a_link_already_in_the_target(tmp_path: Path) -> None:
    """A link planted at a member's name is replaced by the member's file, never written through."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "f").symlink_to(tmp_path / "victim")
    (tmp_path / "victim").write_bytes(b"precious")
    safe_extract(_zip(tmp_path / "a.zip", [("f", b"new", None)]), out)
    assert (tmp_path / "victim").read_bytes() == b"precious"
    assert not (out / "f").is_symlink() and (out / "f").read_bytes() == b"new"


def _zeros_zip(path: Path, n: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", b"ok")
        zf.writestr("zeros.bin", bytes(n))
    return path


def test_zip_bomb_refused_by_ratio_before_writing(tmp_path: Path) -> None:
    archive = _zeros_zip(tmp_path / "bomb.zip", 4 << 20)  # 4 MiB of zeros in ~4 KiB
    limits = ExtractLimits(max_ratio=50, ratio_floor_bytes=0)
    with pytest.raises(ArchiveTooLargeError, match="zeros.bin.*cap of") as err:
        safe_extract(archive, tmp_path / "out", limits=limits)
    assert "ratio 50" in str(err.value)
    assert not (tmp_path / "out" / "readme.txt").exists()  # refused from the declared sizes, before any write


def test_zip_total_cap_and_generous_limits(tmp_path: Path) -> None:
    archive = _zeros_zip(tmp_path / "bomb.zip", 2 << 20)
    with pytest.raises(ArchiveTooLargeError, match="total 1000000"):
        safe_extract(archive, tmp_path / "out", limits=ExtractLimits(max_total_bytes=1_000_000, max_ratio=None))
    assert safe_extract(archive, tmp_path / "ok", limits=ExtractLimits(max_total_bytes=3 << 20)) == 2
    assert (tmp_path / "ok" / "zeros.bin").stat().st_size == 2 << 20


def test_zip_lying_header_is_counted_as_decompressed(tmp_path: Path) -> None:
    """A central directory that declares a tiny size cannot slip the real bytes past the cap."""
    archive = _zeros_zip(tmp_path / "bomb.zip", 2 << 20)
    data = bytearray(archive.read_bytes())
    real = (2 << 20).to_bytes(4, "little")
    data = data.replace(real, (10).to_bytes(4, "little"))  # local header and central directory both lie
    archive.write_bytes(bytes(data))
    with pytest.raises((ArchiveTooLargeError, UnsafeArchiveError, zipfile.BadZipFile)):
        safe_extract(archive, tmp_path / "out", limits=ExtractLimits(max_total_bytes=1 << 20, max_ratio=None))
    big = tmp_path / "out" / "zeros.bin"
    assert not big.exists() or big.stat().st_size <= 1 << 20


def test_tar_gz_bomb_refused_during_the_stream(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "bomb.tar.gz", [("a.bin", bytes(1 << 20), None, tarfile.REGTYPE),
                                              ("b.bin", bytes(3 << 20), None, tarfile.REGTYPE)], mode="w:gz")
    with pytest.raises(ArchiveTooLargeError, match="'b.bin'"):
        safe_extract(archive, tmp_path / "out", limits=ExtractLimits(max_ratio=100, ratio_floor_bytes=2 << 20))
    assert not (tmp_path / "out" / "b.bin").exists()


def test_default_limits_allow_media_archives(tmp_path: Path) -> None:
    """Defaults refuse only what no dataset needs: 64 MiB of anything, and 100x beyond that."""
    assert ExtractLimits().budget(1 << 20) == 100 << 20
    assert ExtractLimits().budget(1000) == 64 << 20
    with pytest.raises(ValueError):
        ExtractLimits(max_ratio=0)
