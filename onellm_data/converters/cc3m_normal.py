"""CC3M images with normal maps in a mirrored directory → normal alignment captions (OneLLM stage III)."""

from __future__ import annotations

from typing import ClassVar

from onellm_data.converters._layout import Need
from onellm_data.converters.cc3m_depth import Cc3mDepthConverter


class Cc3mNormalConverter(Cc3mDepthConverter):
    """CC3M image + normal map + caption → ``<normal>`` / caption alignment samples: the depth converter's
    layout with ``cc3m_normal/`` mirroring ``cc3m/`` (RGB normal PNGs)."""

    name: ClassVar[str] = "cc3m_normal"
    modalities: ClassVar[tuple[str, ...]] = ("normal",)
    kind: ClassVar[str] = "normal"
    layout = (Cc3mDepthConverter.layout[0], Need("mirrored maps", ("cc3m_normal/",)))
