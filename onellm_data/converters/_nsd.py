"""NSD subj01 fMRI trials with the COCO captions of their stimuli, in the forms MindEye (and so OneLLM) use.

* MindEye's preprocessed webdataset, HF ``pscotti/naturalscenesdataset``::

      webdataset_avg_split/{train,val,test}/{split}_subj01_{k}.tar
          sample000000349.nsdgeneral.npy   float16 [3, 15724]: the 3 repetitions × nsdgeneral voxels
          sample000000349.coco73k.npy      the stimulus' index among NSD's 73K COCO images
          sample000000349.jpg / .trial.npy / .num_uniques.npy / .subj / .wholebrain_3d.npy  (not needed)
      COCO_73k_annots_curated.npy          [73000, 5] unicode: 5 COCO captions per NSD image

  or the same tars extracted into folders (``{split}/{split}_subj01_{k}/sample000000349.nsdgeneral.npy``),
  the paths OneLLM's own annotation files point at. MindEye's splits: train 8559, val 300, test 982 images.
* NSD's own release: ``nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR/
  betas_session{NN}.nii.gz`` (750 trials each), ``nsddata/ppdata/subj01/func1pt8mm/roi/nsdgeneral.nii.gz`` and
  ``nsddata/experiments/nsd/nsd_stim_info_merged.csv`` (``nsdId``, ``shared1000``, ``subject1_rep0..2`` =
  1-based trial numbers); shared-1000 images form the test split, as in MindEye.
"""

from __future__ import annotations

import csv
import io
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from onellm_data.converters._json_stream import bad_text, open_text
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import (
    EMPTY_CAPTION,
    MISSING_MEDIA,
    NOT_UTF8,
    UNDECODABLE_FMRI,
    UNKNOWN_ID,
    malformed,
    rejected,
)
from onellm_data.errors import AnnotationError, RejectError

WDS_DIR = "webdataset_avg_split"
ANNOTS = "COCO_73k_annots_curated.npy"
VOXELS = ".nsdgeneral.npy"
COCO_ID = ".coco73k.npy"
BETAS_DIR = "nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR"
MASK = "nsddata/ppdata/subj01/func1pt8mm/roi/nsdgeneral.nii.gz"
STIM_INFO = "nsddata/experiments/nsd/nsd_stim_info_merged.csv"
TRIALS_PER_SESSION = 750

OPTIONS = (
    Option("splits", "comma-separated splits to convert", "text", "train,val"),
    Option("captions", "first: one sample per image with its first caption; all: one per caption", "choice",
           "first", ("first", "all")),
    Option("annots", "the 73K-captions table under raw", "path", ANNOTS),
    Option("webdataset", "MindEye's webdataset folder under raw", "path", WDS_DIR, media=True),
    Option("subject", "subject prefix of MindEye's tar names", "text", "subj01"),
    Option("betas", "folder of NSD's betas_sessionNN.nii.gz", "path", BETAS_DIR, media=True),
    Option("mask", "nsdgeneral mask NIfTI under raw", "path", MASK),
    Option("stim_info", "nsd_stim_info_merged.csv under raw", "path", STIM_INFO),
)
LAYOUT = (
    Need("the 73K COCO captions table", (ANNOTS,)),
    Need("MindEye's webdataset or NSD's stimulus table", (f"{WDS_DIR}/", STIM_INFO)),
)


def _splits(options: dict[str, Any]) -> list[str]:
    return [s.strip() for s in str(options.get("splits", "train,val")).split(",") if s.strip()]


class Captions:
    """The curated 5-captions-per-image table, memory-mapped (hundreds of MB as fixed-width unicode)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"NSD caption table {path} is missing")
        self.table = np.load(path, mmap_mode="r", allow_pickle=False)

    def get(self, index: int) -> list[str] | None:
        if not 0 <= index < len(self.table):
            return None
        return [str(c).strip() for c in np.atleast_1d(self.table[index]) if str(c).strip()]


def _scalar(data: bytes) -> int:
    return int(np.load(io.BytesIO(data), allow_pickle=False).reshape(-1)[0])


def _record(source_id: str, split: str, coco: int | None, captions: Captions, **where: Any) -> dict[str, Any]:
    if coco is None:
        return malformed(source_id, "no coco73k id")
    found = captions.get(coco)
    if found is None:
        return rejected(source_id, UNKNOWN_ID, f"coco73k {coco}")
    return {"source_id": source_id, "split": split, "coco73k": coco, "captions": found, **where}


def _tar_records(raw: Path, tar_path: Path, split: str, captions: Captions) -> Iterator[dict[str, Any]]:
    """Walk a tar's headers once; webdataset keeps a sample's members together."""
    pending: dict[str, Any] = {}

    def flush() -> Iterator[dict[str, Any]]:
        if "key" in pending and "offset" in pending:
            yield _record(pending["key"], split, pending.get("coco"), captions,
                          tar=str(tar_path.relative_to(raw)), offset=pending["offset"], size=pending["size"])
        pending.clear()

    with tarfile.open(tar_path) as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, _, ext = member.name.rpartition("/")[2].partition(".")
            if pending.get("key") != key:
                yield from flush()
                pending["key"] = key
            if "." + ext == VOXELS:
                pending["offset"], pending["size"] = member.offset_data, member.size
            elif "." + ext == COCO_ID:
                pending["coco"] = _scalar(tar.extractfile(member).read())
    yield from flush()


def _folder_records(raw: Path, folder: Path, split: str, captions: Captions) -> Iterator[dict[str, Any]]:
    for name in sorted(os.listdir(folder)):
        if not name.endswith(VOXELS):
            continue
        key = name[: -len(VOXELS)]
        coco_file = folder / f"{key}{COCO_ID}"
        coco = _scalar(coco_file.read_bytes()) if coco_file.is_file() else None
        yield _record(key, split, coco, captions, file=str((folder / name).relative_to(raw)))


def mindeye_records(raw: Path, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    root = raw / options.get("webdataset", WDS_DIR)
    captions = Captions(raw / options.get("annots", ANNOTS))
    subject = options.get("subject", "subj01")
    for split in _splits(options):
        split_dir = root / split
        if not split_dir.is_dir():
            continue
        for name in sorted(os.listdir(split_dir)):
            path = split_dir / name
            if not name.startswith(f"{split}_{subject}"):
                continue
            if name.endswith(".tar"):
                yield from _tar_records(raw, path, split, captions)
            elif path.is_dir():
                yield from _folder_records(raw, path, split, captions)


def nifti_records(raw: Path, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One record per subj01 image of ``nsd_stim_info_merged.csv``, with its (session, volume) repetitions."""
    captions = Captions(raw / options.get("annots", ANNOTS))
    wanted = set(_splits(options))
    path = raw / options.get("stim_info", STIM_INFO)
    with open_text(path) as fh:
        reader = csv.DictReader(fh)
        if "nsdId" not in (reader.fieldnames or []):
            raise AnnotationError(path, "NSD's nsd_stim_info_merged.csv (nsdId, shared1000, subject1_rep0..2)",
                                  f"columns {', '.join((reader.fieldnames or [])[:8]) or 'none'}")
        for lineno, row in enumerate(reader, 2):
            if bad_text(row):
                yield rejected(f"line{lineno}", NOT_UTF8, f"stim info line {lineno}")
                continue
            try:
                nsd_id = int(row["nsdId"])
                shown = str(row.get("subject1", "0")).strip() in ("1", "True", "true")
                trials = [int(float(row[f"subject1_rep{r}"])) for r in range(3)]
            except (KeyError, TypeError, ValueError) as exc:
                yield malformed(f"line{lineno}", repr(exc)[:120])
                continue
            if not shown:
                continue
            split = "test" if str(row.get("shared1000", "")).strip() in ("1", "True", "true") else "train"
            if split not in wanted:
                continue
            reps = [[(t - 1) // TRIALS_PER_SESSION + 1, (t - 1) % TRIALS_PER_SESSION] for t in trials if t > 0]
            yield _record(f"nsd{nsd_id:05d}", split, nsd_id, captions, trials=reps)


def nsd_records(raw: Path, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if (raw / options.get("webdataset", WDS_DIR)).is_dir():
        yield from mindeye_records(raw, options)
    elif (raw / options.get("stim_info", STIM_INFO)).is_file():
        yield from nifti_records(raw, options)
    else:
        raise FileNotFoundError(f"no {WDS_DIR}/ (MindEye webdataset) nor {STIM_INFO} (NSD betas) under {raw}")


def _nifti_voxels(raw: Path, options: dict[str, Any], trials: list[list[int]], media: MediaGuard) -> np.ndarray:
    """The repetitions' beta volumes, stacked [reps, X, Y, Z]; a missing session file is a missing file."""
    import nibabel as nib

    vols = []
    for session, index in trials:
        path = media(raw / options.get("betas", BETAS_DIR) / f"betas_session{session:02d}.nii.gz")
        if not path.is_file():
            raise RejectError(MISSING_MEDIA, str(path))
        vols.append(np.asarray(nib.load(path).dataobj[..., index], dtype=np.float32))
    if not vols:
        raise RejectError(MISSING_MEDIA, "image has no recorded trial")
    return np.stack(vols)


MediaGuard = Callable[[Path], Path]  # ``Converter.media``: a path, or a reject when it leaves the source folder


def fmri_members(raw: Path, options: dict[str, Any], record: dict[str, Any],
                 media: MediaGuard) -> tuple[dict[str, bytes], dict[str, Any]]:
    """float16 [reps, 15724] through ``codecs.fmri``, from whichever form the record came from."""
    from onellm_data.codecs.fmri import prepare_fmri

    if "file" in record:
        path = media(raw / record["file"])
        if not path.is_file():
            raise RejectError(MISSING_MEDIA, str(path))
        return prepare_fmri(path)
    if "tar" in record:
        path = media(raw / record["tar"])
        if not path.is_file():
            raise RejectError(MISSING_MEDIA, str(path))
        with open(path, "rb") as fh:
            fh.seek(record["offset"])
            data = fh.read(record["size"])
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise RejectError(UNDECODABLE_FMRI, str(exc)[:200]) from exc
        return prepare_fmri(arr)
    return prepare_fmri(_nifti_voxels(raw, options, record["trials"], media), raw / options.get("mask", MASK))


def caption_choices(record: dict[str, Any], options: dict[str, Any]) -> list[tuple[str, str]]:
    """``(source_id, caption)`` pairs: the first caption (default) or, with ``captions=all``, one per caption."""
    captions = record["captions"]
    if not captions:
        raise RejectError(EMPTY_CAPTION, f"coco73k {record['coco73k']}")
    if options.get("captions", "first") == "all":
        return [(f"{record['source_id']}-c{i}", c) for i, c in enumerate(captions)]
    return [(record["source_id"], captions[0])]
