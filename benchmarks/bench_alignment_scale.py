"""Memory of the alignment converters' record streams from 10K to 1M caption rows.

For each annotation format (WebVid CSV, LAION parquet, WavCaps JSON) and size, a fresh subprocess runs the
media-free ``records()`` stream through the runner's partitioning (``iter_partitions``, partition_size 10 000)
and reports its peak RSS above the interpreter's RSS after imports. Partitioning is measured with the runner's
duplicate-id check off (the converter stream alone) and on (the runner's default). The baseline loads the
same file whole (``pandas.read_csv`` / ``pandas.read_parquet`` / ``json.load``). A small media pass converts
1 000 img2dataset images end to end.

The stream's plateau is two partitions of records (the one being handed out and the one being filled), so it
is reached at 2 partitions (20K rows) and stays there; the 10K row holds one. The ``+dedup`` column grows with
the rows: the runner keeps an 8-byte hash per source id to reject duplicates.

    python benchmarks/bench_alignment_scale.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

WORDS = ("a", "red", "dog", "runs", "across", "the", "green", "field", "under", "bright", "sky", "near", "old",
         "stone", "bridge", "while", "children", "play", "with", "kite")


def caption(i: int) -> str:
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(8 + i % 9)) + f" #{i}"


def write_csv(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["videoid", "name", "page_idx", "page_dir", "duration", "contentUrl"])
        for i in range(n):
            w.writerow([1_000_000 + i, caption(i), i // 50, f"{i // 50 * 50 + 1:06d}_{i // 50 * 50 + 50:06d}",
                        "PT00H00M12S", f"https://ak.picdn.net/shutterstock/videos/{i}/preview.mp4"])


def write_parquet(path: Path, n: int, chunk: int = 100_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("URL", pa.string()), ("TEXT", pa.string())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, chunk):
            ids = range(start, min(n, start + chunk))
            writer.write_table(pa.table({"URL": [f"https://img.example/{i}.jpg" for i in ids],
                                         "TEXT": [caption(i) for i in ids]}, schema=schema))


def write_json(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('{"num_captions_per_audio": 1, "data": [')
        for i in range(n):
            item = {"title": f"t{i}", "caption": caption(i), "id": str(i), "duration": 1.5 + i % 7,
                    "audio": "wav_path", "download_link": f"http://soundbible.com/grab.php?id={i}"}
            fh.write(("," if i else "") + json.dumps(item))
        fh.write("]}")


FORMATS = {  # format → (file name, writer, converter name, raw subdir layout, baseline loader)
    "csv (webvid)": ("results_2M_train.csv", write_csv, "webvid", "import pandas as pd; pd.read_csv(PATH)"),
    "parquet (laion)": ("part-00000.parquet", write_parquet, "laion", "import pandas as pd; pd.read_parquet(PATH)"),
    "json (wavcaps)": ("sb_final.json", write_json, "wavcaps", "import json; json.load(open(PATH))"),
}

PROBE = textwrap.dedent("""
    def status_mb(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    {imports}
    PATH = {path!r}
    # Reset the kernel's peak-RSS mark (a forked child starts with its parent's), then measure from here.
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    base = status_mb("VmRSS")
    {body}
    print(status_mb("VmHWM") - base, n)
""")


def probe(imports: str, body: str, path: Path) -> tuple[float, int]:
    code = PROBE.format(imports=imports, path=str(path), body=body)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def stream_body(converter: str, dedup: bool) -> tuple[str, str]:
    imports = ("import pandas, pyarrow.parquet, ijson\n"
               "from onellm_data.converters import make_converter\n"
               "from onellm_data.build.runner import iter_partitions")
    body = (f"conv = make_converter({converter!r}, __import__('pathlib').Path(PATH).parent)\n"
            f"n = sum(len(recs) for _, _, recs in iter_partitions(conv, 10_000, dedup={dedup}))")
    return imports, body


def media_pass(tmp: Path, n: int = 1000) -> tuple[float, float, int]:
    """End-to-end laion conversion of ``n`` downloaded images: (seconds, peak RSS MB of the child, samples)."""
    raw = tmp / "media"
    raw.mkdir()
    code = textwrap.dedent(f"""
        import time, pyarrow as pa, pyarrow.parquet as pq
        from pathlib import Path
        from onellm_data.samples.alignment_media import write_img2dataset
        from onellm_data.build import run_conversion, ShardSettings
        from onellm_data.converters import make_converter
        raw = Path({str(raw)!r})
        rows = [(f"https://img.example/{{i}}.jpg", f"caption {{i}}") for i in range({n})]
        pq.write_table(pa.table({{"URL": [u for u, _ in rows], "TEXT": [t for _, t in rows]}}), raw / "list.parquet")
        write_img2dataset(raw / "images", rows, per_shard=250)
        open("/proc/self/clear_refs", "w").write("5")
        t = time.perf_counter()
        s = run_conversion(make_converter("laion", raw, samples_per_shard=250), raw / "corpus",
                           ShardSettings(partition_size=250))
        hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
        print(time.perf_counter() - t, hwm / 1024, s.samples)
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    print(f"peak RSS above the interpreter after imports (MB); sizes {sizes}")
    header = f"{'format':<16} {'rows':>9} {'file MB':>8} {'stream':>8} {'+dedup':>8} {'baseline':>9} {'s/stream':>9}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for fmt, (name, writer, converter, baseline) in FORMATS.items():
            results = []
            for n in sizes:
                folder = tmp / f"{converter}-{n}"
                folder.mkdir()
                path = folder / name
                writer(path, n)
                t = time.perf_counter()
                stream, count = probe(*stream_body(converter, False), path)
                seconds = time.perf_counter() - t
                assert count == n, (fmt, count, n)
                dedup, _ = probe(*stream_body(converter, True), path)
                base, _ = probe(baseline.split(";")[0], baseline.split(";", 1)[-1].strip() + "\nn = 0", path)
                results.append((stream, dedup, base))
                mb = path.stat().st_size / 2**20
                print(f"{fmt:<16} {n:>9} {mb:>8.1f} {stream:>8.1f} {dedup:>8.1f} {base:>9.1f} {seconds:>9.1f}")
                path.unlink()
            for first in sorted({0, max(len(sizes) - 2, 0)}):
                (s0, d0, b0), (s1, d1, b1) = results[first], results[-1]
                ratio = lambda a, b: f"{a / max(b, 1.0):.1f}x"  # noqa: E731 - floors tiny denominators at 1 MB
                print(f"{'':<16} {'ratio':>9} {'':>8} {ratio(s1, s0):>8} {ratio(d1, d0):>8} {ratio(b1, b0):>9}  "
                      f"({sizes[-1]} vs {sizes[first]} rows)")
        seconds, peak, samples = media_pass(tmp)
        print(f"\nmedia pass: laion, {samples} img2dataset JPEGs end to end in {seconds:.2f} s "
              f"({samples / seconds:.0f} samples/s), child peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
