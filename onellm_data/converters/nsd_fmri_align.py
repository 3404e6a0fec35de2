"""NSD subj01 fMRI trials with captions of the stimulus → fMRI alignment captions (OneLLM stage III)."""

from __future__ import annotations

from typing import Any, ClassVar

from onellm_data.converters._turns import caption_turns
from onellm_data.converters.nsd_fmri import NsdFmriConverter


class NsdFmriAlignConverter(NsdFmriConverter):
    """``<fmri>`` / caption samples; same raw layout and options as ``nsd_fmri``."""

    name: ClassVar[str] = "nsd_fmri_align"

    def turns(self, caption: str) -> list[dict[str, str]]:
        return caption_turns("fmri", caption)

    def extra_meta(self) -> dict[str, Any]:
        return {"task": "caption"}
