"""NSD subj01 fMRI as instructions: "Describe the scene based on fMRI data." → a COCO caption of the stimulus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from onellm_data.converters._nsd import LAYOUT, OPTIONS, caption_choices, fmri_members, nsd_records
from onellm_data.converters._turns import caption_prompt, prompt_turns
from onellm_data.converters.base import Converter
from onellm_data.schema import Sample


class NsdFmriConverter(Converter):
    """One sample per NSD subj01 image (its 3 repetitions kept), MindEye's train + val splits by default.

    Raw layout: MindEye's ``webdataset_avg_split/{split}/{split}_subj01_{k}.tar`` (or extracted folders of
    ``sampleNNNNNNNNN.nsdgeneral.npy`` float16 [3, 15724] + ``sampleNNNNNNNNN.coco73k.npy``) with
    ``COCO_73k_annots_curated.npy``; or NSD's NIfTI betas + ``nsdgeneral.nii.gz`` + ``nsd_stim_info_merged.csv``
    (details in ``converters/_nsd.py``). Options: ``splits`` (``train,val``), ``captions`` (``first`` | ``all``),
    ``annots``, ``webdataset``, ``betas``, ``mask``, ``stim_info``.
    """

    name: ClassVar[str] = "nsd_fmri"
    modalities: ClassVar[tuple[str, ...]] = ("fmri",)
    declared_options = OPTIONS
    layout = LAYOUT

    def records(self) -> Iterator[dict[str, Any]]:
        yield from nsd_records(self.raw, self.options)

    def turns(self, caption: str) -> list[dict[str, str]]:
        return prompt_turns("fmri", caption_prompt("fmri"), caption)

    def extra_meta(self) -> dict[str, Any]:
        return {}

    def convert(self, record: dict[str, Any]) -> list[Sample]:
        choices = caption_choices(record, self.options)
        turns = [(source_id, self.turns(caption)) for source_id, caption in choices]
        members, meta = fmri_members(self.raw, self.options, record, self.media)
        meta = {**meta, "split": record["split"], "coco73k": record["coco73k"], **self.extra_meta()}
        return [self.sample(source_id, "fmri", conversations, members, meta) for source_id, conversations in turns]
