"""Memory of the alignment converters' record streams from 10K to 1M caption rows, and of the duplicate-id check.

For each annotation format (WebVid CSV, LAION parquet, WavCaps JSON) and size, a fresh subprocess runs the
media-free ``records()`` stream through the runner's partitioning (``iter_partitions``, partition_size 10 000)
and reports its peak RSS above the interpreter's RSS after imports. Partitioning is measured three ways: with the
duplicate-id check off (the converter stream alone, ``stream``), on (the runner's default, ``+dedup``: the compact
exact ``dedup.SeenIds``), and with the runner's previous check (``+set``: a Python set of 8-byte blake2b digests,
copied below as ``OLD_ITER_PARTITIONS``), all in the same run. ``dedup MB`` and ``set MB`` are what each check
adds to the stream's peak, and ``set/dedup`` their ratio. The baseline loads the same file whole
(``pandas.read_csv`` / ``pandas.read_parquet`` / ``json.load``). A small media pass converts 1 000 img2dataset
images end to end.

The stream's plateau is two partitions of records (the one being handed out and the one being filled), so it
is reached at 2 partitions (20K rows) and stays there; the 10K row holds one. Both checks grow with the rows (a
set of seen ids must): the set by ~80 B per id, ``SeenIds`` by ~17 B (a 64-bit hash and a 64-bit spill pointer
per id in sorted numpy runs, plus a one-word Bloom filter; the ids themselves go to a temporary file).

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
    import time
    t0 = time.perf_counter()
    {body}
    print(status_mb("VmHWM") - base, n, time.perf_counter() - t0)
""")


def probe(imports: str, body: str, path: Path) -> tuple[float, int, float]:
    """(peak RSS MB above the interpreter after imports, records, seconds of the body) in a fresh process."""
    code = PROBE.format(imports=imports, path=str(path), body=body)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), float(out[2])


# The runner's record partitioning before the compact duplicate-id check, verbatim: the "+set" column.
OLD_ITER_PARTITIONS = """
import hashlib
def iter_partitions(converter, partition_size, dedup=True):
    seen = set()
    chunk = []
    position = 0
    for record in converter.records():
        if dedup and "_reject" not in record:
            digest = int.from_bytes(hashlib.blake2b(str(record["source_id"]).encode(), digest_size=8).digest(), "little")
            if digest in seen:
                record = {"source_id": record["source_id"], "_reject": "duplicate id"}
            seen.add(digest)
        chunk.append(record)
        position += 1
        if len(chunk) == partition_size:
            yield (position - 1) // partition_size, position - len(chunk), chunk
            chunk = []
    if chunk:
        yield (position - 1) // partition_size, position - len(chunk), chunk
"""


def stream_body(converter: str, check: str) -> tuple[str, str]:
    """``check``: "off" (no duplicate-id check), "dedup" (the runner's) or "set" (the previous runner's)."""
    imports = ("import pandas, pyarrow.parquet, ijson\n"
               "from onellm_data.converters import make_converter\n"
               "from onellm_data.pipeline.runner import iter_partitions")
    if check == "set":
        imports += "\n" + OLD_ITER_PARTITIONS  # defined after the import: it replaces it
    body = (f"conv = make_converter({converter!r}, __import__('pathlib').Path(PATH).parent)\n"
            f"n = sum(len(recs) for _, _, recs in iter_partitions(conv, 10_000, dedup={check != 'off'}))")
    return imports, body


def media_pass(tmp: Path, n: int = 1000) -> tuple[float, float, int]:
    """End-to-end laion conversion of ``n`` downloaded images: (seconds, peak RSS MB of the child, samples)."""
    raw = tmp / "media"
    raw.mkdir()
    code = textwrap.dedent(f"""
        import time, pyarrow as pa, pyarrow.parquet as pq
        from pathlib import Path
        from onellm_data.samples.alignment_media import write_img2dataset
        from onellm_data.pipeline import run_conversion, ShardSettings
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
    header = (f"{'format':<16} {'rows':>9} {'file MB':>8} {'stream':>8} {'+dedup':>8} {'+set':>8} {'dedup MB':>9} "
              f"{'set MB':>8} {'set/dedup':>10} {'baseline':>9} {'s/stream':>9} {'s/+dedup':>9} {'s/+set':>7}")
    print(header)
    print("-" * len(header))
    ratio = lambda a, b: f"{a / max(b, 1.0):.1f}x"  # noqa: E731 - floors tiny denominators at 1 MB
    summary = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for fmt, (name, writer, converter, baseline) in FORMATS.items():
            results = []
            for n in sizes:
                folder = tmp / f"{converter}-{n}"
                folder.mkdir()
                path = folder / name
                writer(path, n)
                stream, count, seconds = probe(*stream_body(converter, "off"), path)
                assert count == n, (fmt, count, n)
                dedup, _, s_dedup = probe(*stream_body(converter, "dedup"), path)
                old, _, s_old = probe(*stream_body(converter, "set"), path)
                base, _, _ = probe(baseline.split(";")[0], baseline.split(";", 1)[-1].strip() + "\nn = 0", path)
                new_mb, old_mb = max(dedup - stream, 0.0), max(old - stream, 0.0)
                results.append((stream, dedup, old, new_mb, old_mb, base))
                mb = path.stat().st_size / 2**20
                print(f"{fmt:<16} {n:>9} {mb:>8.1f} {stream:>8.1f} {dedup:>8.1f} {old:>8.1f} {new_mb:>9.1f} "
                      f"{old_mb:>8.1f} {ratio(old_mb, new_mb):>10} {base:>9.1f} {seconds:>9.1f} {s_dedup:>9.1f} "
                      f"{s_old:>7.1f}")
                path.unlink()
            for first in sorted({0, max(len(sizes) - 2, 0)}):
                (s0, d0, o0, n0, m0, b0), (s1, d1, o1, n1, m1, b1) = results[first], results[-1]
                print(f"{'':<16} {'ratio':>9} {'':>8} {ratio(s1, s0):>8} {ratio(d1, d0):>8} {ratio(o1, o0):>8} "
                      f"{ratio(n1, n0):>9} {ratio(m1, m0):>8} {'':>10} {ratio(b1, b0):>9}  "
                      f"({sizes[-1]} vs {sizes[first]} rows)")
            summary.append((fmt, results))
        if len(sizes) > 1:
            print(f"\nduplicate-id check alone (peak RSS it adds to the stream), {sizes[-2]} and {sizes[-1]} rows; "
                  f"B/id = marginal bytes per extra id between the two sizes:")
            for fmt, results in summary:
                (_, _, _, n0, m0, _), (_, _, _, n1, m1, _) = results[-2], results[-1]
                per_id = lambda mb0, mb1: (mb1 - mb0) * 2**20 / (sizes[-1] - sizes[-2])  # noqa: E731
                print(f"  {fmt:<16} set {m0:5.1f} -> {m1:5.1f} MB ({per_id(m0, m1):5.1f} B/id), "
                      f"dedup {n0:5.1f} -> {n1:5.1f} MB ({per_id(n0, n1):5.1f} B/id); "
                      f"set/dedup {ratio(m0, n0)} at {sizes[-2]}, {ratio(m1, n1)} at {sizes[-1]}")
        seconds, peak, samples = media_pass(tmp)
        print(f"\nmedia pass: laion, {samples} img2dataset JPEGs end to end in {seconds:.2f} s "
              f"({samples / seconds:.0f} samples/s), child peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
