"""Conceptual Captions 3M (CC3M) whose images img2dataset downloaded.

Raw layout::

    raw/
      Train_GCC-training.tsv     as published: ``caption<TAB>url`` per line, no header (img2dataset's docs add
                                 a ``caption<TAB>url`` header line first; both are accepted)
      images/                    img2dataset's output for that TSV (``--input_format tsv --url_col url
        00000.tar                --caption_col caption``): webdataset tars or ``00000/`` folders of
        …                        ``{key}.jpg`` + ``.txt`` + ``.json``

Options: ``tsv`` (file or folder under raw; default every top-level ``*.tsv``, sorted), ``images``,
``samples_per_shard`` (img2dataset's ``number_sample_per_shard``, 10000). The TSV is streamed line by line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters import _img2dataset as i2d
from onellm_data.converters._json_stream import bad_text, open_text
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_ROW, NOT_UTF8
from onellm_data.converters.base import Converter
from onellm_data.schema import Sample


def read_tsv_rows(path: Path) -> Iterator[tuple[Any, Any]]:
    """``(url, caption)`` per data line; a malformed line gives ``(None, (reason, detail))``."""
    with open_text(path) as fh:
        # CC3M captions contain stray quotes: read as plain tab-separated text, no CSV quoting.
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        for lineno, row in enumerate(reader, 1):
            if lineno == 1 and [c.strip().lower() for c in row] == ["caption", "url"]:
                continue  # img2dataset's header line is not a row
            if bad_text(row):
                yield None, (NOT_UTF8, f"{path.name}:{lineno}")
                continue
            if len(row) != 2:
                yield None, (MALFORMED_ROW, f"{path.name}:{lineno}: {len(row)} columns")
                continue
            yield row[1].strip(), row[0]


class Cc3mConverter(Converter):
    name: ClassVar[str] = "cc3m"
    modalities: ClassVar[tuple[str, ...]] = ("image",)
    declared_options = (Option("tsv", "URL list file or folder under raw (default: every top-level *.tsv)", "path"),
                        i2d.IMAGES_OPTION, i2d.PER_SHARD_OPTION)
    layout = (Need("CC3M caption/url TSV", ("*.tsv",)), i2d.DOWNLOADED)

    def records(self) -> Iterator[dict[str, Any]]:
        files = i2d.list_inputs(self.raw, self.options.get("tsv"), (".tsv",))
        per_shard = int(self.options.get("samples_per_shard", i2d.DEFAULT_SAMPLES_PER_SHARD))
        yield from i2d.positioned(files, read_tsv_rows, per_shard)

    def convert(self, record: dict[str, Any]) -> Sample:
        return i2d.convert_downloaded(self, record, i2d.images_dir(self.raw, self.options.get("images")))
