"""``verify --decode``: every sample through the load-side decode; planted bad samples are named per source."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.converters import make_converter
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.verify import rebuild_index, verify
from onellm_data.verify_decode import verify_decode
from onellm_data.shards.atomic import file_sha256
from tests.conftest import make_jpeg

SETTINGS = ShardSettings(max_count=4, partition_size=8)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _imu(seed: int) -> np.ndarray:
    t = np.linspace(0, 2, 400, dtype=np.float32)
    return np.stack([np.sin(t * (i + 1) + seed) for i in range(6)]).astype(np.float32)


def _source(raw: Path, name: str, modality: str, n: int) -> None:
    (raw / "media").mkdir(parents=True)
    lines = []
    for i in range(n):
        if modality == "image":
            (raw / "media" / f"{i}.jpg").write_bytes(make_jpeg(i, size=(96, 80)))
            media, tag = {"jpg": f"media/{i}.jpg"}, "<image>"
        else:
            (raw / "media" / f"{i}.npy").write_bytes(_npy(_imu(i)))
            media, tag = {"npy": f"media/{i}.npy"}, "<imu>"
        lines.append({"id": f"{name}{i}", "modality": modality, "media": media,
                      "conversations": [{"from": "human", "value": f"{tag}\nWhat is it?"},
                                        {"from": "gpt", "value": f"item {i}"}]})
    (raw / "samples.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")


def _replace_member(corpus: Path, key: str, ext: str, data: bytes) -> None:
    """Overwrite a member's bytes in its tar (same size) and re-seal the shard's sha256 in its commit marker,
    as a corpus written by a tool without the decode check would hold it: structurally sound, unusable."""
    import pandas as pd

    row = pd.read_parquet(corpus / "index/samples.parquet").set_index("key").loc[key]
    members = list(row["members"])
    sizes = list(row["member_bytes"])
    assert sizes[members.index(ext)] == len(data)
    offset = int(row["tar_offset"])
    for name, size in zip(members, sizes):  # json first, then media in name order: the writer's order
        if name == ext:
            break
        offset += 512 + (size + 511) // 512 * 512
    shard = corpus / row["shard"]
    blob = bytearray(shard.read_bytes())
    blob[offset + 512:offset + 512 + len(data)] = data
    shard.write_bytes(bytes(blob))
    for marker in (corpus / "index/parts").rglob("[0-9]*.commit.json"):
        content = json.loads(marker.read_text())
        for entry in content["shards"]:
            if entry["shard"] == row["shard"]:
                entry["sha256"] = file_sha256(shard)
                marker.write_text(json.dumps(content))
    rebuild_index(corpus)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    out = tmp_path / "corpus"
    for name, modality in (("pics", "image"), ("moves", "imu")):
        _source(tmp_path / name, name, modality, 6)
        run_conversion(make_converter("jsonl", tmp_path / name, source=name), out, SETTINGS)
    return out


def test_clean_corpus_decodes(corpus: Path) -> None:
    report = verify_decode(corpus, workers=1)
    assert report.ok and report.checked == {"image": 6, "imu": 6}


def test_planted_nan_and_undecodable_samples_are_named_per_source(corpus: Path) -> None:
    bad = _imu(3)
    bad[2, 17] = np.nan
    _replace_member(corpus, "moves-moves3", "npy", _npy(bad))
    jpeg = (corpus.parent / "pics/media/2.jpg").read_bytes()
    _replace_member(corpus, "pics-pics2", "jpg", jpeg[:200] + b"\0" * (len(jpeg) - 200))
    assert verify(corpus).ok  # sound tars and index: only decoding finds them

    report = verify_decode(corpus, workers=2)
    found = {source: [(p.key, p.reason) for p in problems] for source, problems in report.by_source().items()}
    assert list(found) == ["moves", "pics"]
    assert found["moves"] == [("moves-moves3", "decoded imu has non-finite values")]
    assert [key for key, _ in found["pics"]] == ["pics-pics2"]
    assert sum(report.checked.values()) == 12

    result = CliRunner().invoke(app, ["verify", "--decode", "-j", "2", str(corpus)])
    assert result.exit_code == 1
    assert "moves-moves3" in result.output and "pics-pics2" in result.output and "non-finite" in result.output
