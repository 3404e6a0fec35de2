"""CC3M images with depth maps in a mirrored directory → depth alignment captions (OneLLM stage III)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._layout import Need
from onellm_data.converters._maps import cc3m_caption, cc3m_records, find_map, mirrored_map_dir, pair_members
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MISSING_MEDIA
from onellm_data.converters._turns import caption_turns
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import Sample


class Cc3mDepthConverter(Converter):
    """CC3M image + depth map + caption → ``<depth>`` / caption alignment samples.

    Raw layout, either OneLLM's alignment list or img2dataset's folder output::

        cc3m.csv                              caption<TAB>url header; url = .../cc3m/00000/000000001.jpg
        cc3m/00000/000000001.jpg (+ .txt caption or .json {"caption": ...}, as img2dataset writes them)
        cc3m_depth/00000/000000001.png        mirrored path (the same file name, or the same stem as .png)

    Options: ``csv`` (``cc3m.csv``; used when present), ``images`` (``cc3m``).
    """

    name: ClassVar[str] = "cc3m_depth"
    modalities: ClassVar[tuple[str, ...]] = ("depth",)
    kind: ClassVar[str] = "depth"
    declared_options = (
        Option("csv", "OneLLM's tab-separated caption/url list under raw (used when present)", "path", "cc3m.csv"),
        Option("images", "image folder name, mirrored as {images}_{kind} for the maps", "text", "cc3m"),
    )
    layout = (Need("CC3M images (with captions)", ("cc3m/",)), Need("mirrored maps", ("cc3m_depth/",)))

    def records(self) -> Iterator[dict[str, Any]]:
        yield from cc3m_records(self.raw, self.options)

    def convert(self, record: dict[str, Any]) -> Sample:
        image, map_guess = mirrored_map_dir(self.raw, record["image"], self.options.get("images", "cc3m"), self.kind)
        image = self.media(image)
        if not image.is_file():
            raise RejectError(MISSING_MEDIA, str(image))
        conversations = caption_turns(self.kind, cc3m_caption(image, record))
        map_path = self.media(find_map(map_guess.parent, Path(map_guess.name)))
        members, meta = pair_members(image, map_path, self.kind)
        return self.sample(record["source_id"], self.kind, conversations, members, {**meta, "task": "caption"})
