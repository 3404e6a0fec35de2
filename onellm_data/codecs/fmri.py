"""fMRI codec (NSD subj01). Conversion accepts MindEye's preprocessed per-trial ``.npy`` (float16 [reps, 15724],
or a single [15724] vector), an array, or NIfTI beta volumes [X, Y, Z(, reps)] reduced to the nsdgeneral ROI by its
mask (voxels where the mask is > 0, in C order as numpy's boolean indexing walks them). The member ``npy`` is
float16 [reps, 15724]; loading averages the repetitions into OneLLM's [1, 15724]. No further normalisation:
MindEye's betas are z-scored per session upstream, which a per-trial codec cannot redo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from onellm_data.codecs._detail import exc_detail
from onellm_data.codecs._npy import is_npy_of, npy_bytes, read_npy
from onellm_data.codecs.check import proven
from onellm_data.errors import CodecError

VOXELS = 15724
FLOAT16_MAX = float(np.finfo(np.float16).max)
NIFTI_SUFFIXES = (".nii", ".nii.gz")


def _is_nifti(path: Path) -> bool:
    return path.name.endswith(NIFTI_SUFFIXES)


def _load_nifti(path: Path) -> np.ndarray:
    import nibabel as nib

    try:
        return np.asarray(nib.load(path).get_fdata(dtype=np.float32))
    except Exception as exc:  # nibabel raises many types (ImageFileError, zlib, EOFError) for broken files
        raise CodecError("undecodable NIfTI volume", f"{path.name}: {exc_detail(exc)}") from exc


def roi_mask(mask: Path | str | np.ndarray) -> np.ndarray:
    """A boolean volume from an ROI mask file or array (nsdgeneral: -1 outside the brain, 0 outside the ROI, 1 in)."""
    arr = np.asarray(mask) if isinstance(mask, np.ndarray) else _load_nifti(Path(mask))
    return arr > 0


def _masked(volumes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[reps, X, Y, Z] (or one [X, Y, Z]) → [reps, voxels in mask]."""
    if volumes.ndim == 3:
        volumes = volumes[None]
    if volumes.shape[1:] != mask.shape:
        raise CodecError("fMRI volume and ROI mask differ in shape", f"{volumes.shape[1:]} vs {mask.shape}")
    return volumes[:, mask]


def _read(src: Path | str | np.ndarray, mask: Path | str | np.ndarray | None) -> tuple[np.ndarray, bytes | None]:
    """The voxels, and the source file's bytes when it is an ``.npy``."""
    data = None
    if isinstance(src, np.ndarray):
        arr = src
    else:
        path = Path(src)
        if not path.is_file():
            raise CodecError("missing media file", str(path))
        if _is_nifti(path):
            vol = _load_nifti(path)
            arr = np.moveaxis(vol, -1, 0) if vol.ndim == 4 else vol  # NIfTI keeps trials on the last axis
        else:
            data = path.read_bytes()
            arr = read_npy(data, "fmri")  # a view of the file's bytes when it is a plain .npy
    if arr.ndim >= 3:
        if mask is None:
            raise CodecError("fMRI volume needs an ROI mask", f"shape {arr.shape}")
        arr = _masked(arr, roi_mask(mask))
    if arr.ndim == 1:
        arr = arr[None]
    return arr, data


def _as_float16(arr: np.ndarray) -> np.ndarray:
    """The voxels as the stored float16; wider input must be finite and within float16's range."""
    if arr.dtype.kind not in "biuf":
        raise CodecError("fMRI array is not numeric", f"dtype {arr.dtype}")
    if arr.dtype == np.float16:  # non-finite voxels make the decoded mean non-finite: the decode check sees them
        return arr
    values = arr.astype(np.float32)
    if not np.isfinite(values).all():
        raise CodecError("fMRI has non-finite values")
    top = float(np.abs(values).max()) if values.size else 0.0
    if top > FLOAT16_MAX:
        raise CodecError("fMRI values overflow float16", f"max |x| {top:.3g}")
    return values.astype(np.float16)


def prepare_fmri(src: Path | str | np.ndarray, mask: Path | str | np.ndarray | None = None
                 ) -> tuple[dict[str, bytes], dict[str, Any]]:
    arr, data = _read(src, mask)
    if arr.ndim != 2 or arr.shape[1] != VOXELS:
        raise CodecError("fMRI must have 15724 nsdgeneral voxels", f"shape {arr.shape}")
    if arr.shape[0] < 1:
        raise CodecError("fMRI has no repetitions")
    stored = _as_float16(arr)
    # MindEye's float16 [reps, 15724] files are already the member: kept byte for byte.
    members = {"npy": data if data is not None and stored is arr and is_npy_of(data, arr) else npy_bytes(stored)}
    try:  # the conversion check (codecs/check.py), on the load-side decode of this member
        proven("fmri", members, decode_fmri(members["npy"]))
    except CodecError as exc:
        raise CodecError("fMRI has non-finite values", exc.detail) from exc
    return members, {"fmri_reps": int(arr.shape[0]), "fmri_voxels": int(arr.shape[1])}


def decode_fmri(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    arr = read_npy(data, "fmri")
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != VOXELS:
        raise CodecError("fMRI member must be [reps, 15724]", f"shape {arr.shape}")
    native = arr.astype(arr.dtype.newbyteorder("="), copy=True)  # torch wants native, writable memory
    # The mean of the repetitions in float32, converting float16 on the fly (numpy's cast is ~6x slower): the
    # same float32 sums and division as numpy's ``astype(float32).mean(0)`` (tested equal).
    return torch.from_numpy(native).mean(dim=0, keepdim=True, dtype=torch.float32)
