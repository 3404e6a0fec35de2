"""LAION-400M / LAION-COCO caption pairs whose images img2dataset downloaded.

Raw layout::

    raw/
      part-00000-….parquet …     URL lists as published: columns ``URL``, ``TEXT`` (LAION-400M also has
                                 SAMPLE_ID, HEIGHT, WIDTH, LICENSE, NSFW, similarity; LAION-COCO adds
                                 ``top_caption``, ``all_captions`` …); several files are read sorted by name
      images/                    img2dataset's output for those lists (``--url_col URL --caption_col TEXT``):
        00000.tar                  webdataset format: 000000000.jpg/.txt/.json …, or
        00000/000000000.jpg …      files format; plus img2dataset's own 00000.parquet and 00000_stats.json

Options: ``url_list`` (file or folder under raw; default the top-level ``*.parquet``), ``images`` (default
``images/`` or raw itself), ``caption_col`` (default ``top_caption`` when present, as LAION-COCO's point is its
generated captions, else ``TEXT``), ``samples_per_shard`` (img2dataset's ``number_sample_per_shard``, 10000).
Parquet files are streamed (row groups, in batches of 8192 rows) with only the two needed columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters import _img2dataset as i2d
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters.base import Converter
from onellm_data.schema import Sample

BATCH_ROWS = 8192


def _column(names: list[str], wanted: str) -> str | None:
    """Column lookup that tolerates case differences (``URL`` vs ``url``)."""
    for name in names:
        if name == wanted:
            return name
    return next((n for n in names if n.lower() == wanted.lower()), None)


class LaionConverter(Converter):
    name: ClassVar[str] = "laion"
    modalities: ClassVar[tuple[str, ...]] = ("image",)
    declared_options = (
        Option("url_list", "URL list parquet file or folder under raw (default: every top-level *.parquet)", "path"),
        i2d.IMAGES_OPTION,
        Option("caption_col", "caption column (default top_caption when present, else TEXT)"),
        i2d.PER_SHARD_OPTION,
    )
    layout = (Need("LAION URL list parquet", ("*.parquet",)), i2d.DOWNLOADED)

    def _read_rows(self, path: Path) -> Iterator[tuple[Any, Any]]:
        import pyarrow.parquet as pq

        # No read-ahead: pre-buffering and threaded decoding hold extra row groups (~2x peak RSS at 1M rows).
        pf = pq.ParquetFile(path, pre_buffer=False)
        names = pf.schema_arrow.names
        url_col = _column(names, "URL")
        wanted = self.options.get("caption_col") or ("top_caption" if _column(names, "top_caption") else "TEXT")
        caption_col = _column(names, wanted)
        if url_col is None or caption_col is None:
            raise ValueError(f"{path}: needs columns URL and {wanted}, found {names}")
        # Bounded batches within row groups: published files have row groups of up to ~1M rows.
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=[url_col, caption_col], use_threads=False):
            yield from zip(batch.column(url_col).to_pylist(), batch.column(caption_col).to_pylist())

    def records(self) -> Iterator[dict[str, Any]]:
        files = i2d.list_inputs(self.raw, self.options.get("url_list"), (".parquet",))
        per_shard = int(self.options.get("samples_per_shard", i2d.DEFAULT_SAMPLES_PER_SHARD))
        yield from i2d.positioned(files, self._read_rows, per_shard)

    def convert(self, record: dict[str, Any]) -> Sample:
        return i2d.convert_downloaded(self, record, i2d.images_dir(self.raw, self.options.get("images")))
