"""fMRI codec (NSD subj01): MindEye arrays, NIfTI volumes with an ROI mask, rejects and the averaged decode."""

from __future__ import annotations

import io
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from onellm_data.codecs.fmri import VOXELS, decode_fmri, prepare_fmri
from onellm_data.errors import CodecError
from tests.conftest import realdata

NIFTI = "nifti/nibabel_tests_data"


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def member(members: dict[str, bytes]) -> np.ndarray:
    assert list(members) == ["npy"]
    return np.load(io.BytesIO(members["npy"]), allow_pickle=False)


def save_nifti(path: Path, arr: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(arr, np.eye(4)), str(path))
    return path


def nsd_mask(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """An nsdgeneral-style mask: -1 outside the brain, 0 outside the ROI, 1 on exactly 15724 voxels."""
    rng = np.random.default_rng(seed)
    mask = np.full(int(np.prod(shape)), -1, dtype=np.int16)
    mask[rng.choice(mask.size, 20000, replace=False)] = 0
    mask[rng.choice(mask.size, VOXELS, replace=False)] = 1
    return mask.reshape(shape)


# ---------------------------------------------------------------- arrays


def test_mindeye_float16_npy_is_kept(tmp_path: Path) -> None:
    arr = np.random.default_rng(0).standard_normal((3, VOXELS)).astype(np.float16)
    np.save(tmp_path / "sample000000498.nsdgeneral.npy", arr)
    members, meta = prepare_fmri(tmp_path / "sample000000498.nsdgeneral.npy")
    out = member(members)
    assert out.dtype == np.float16 and np.array_equal(out, arr)
    assert len(members["npy"]) == 128 + 3 * VOXELS * 2  # the 94,472-byte MindEye file size
    assert members["npy"] == (tmp_path / "sample000000498.nsdgeneral.npy").read_bytes()  # kept byte for byte
    assert meta == {"fmri_reps": 3, "fmri_voxels": VOXELS}
    x = decode_fmri(members["npy"])
    assert x.shape == (1, VOXELS) and x.dtype == torch.float32
    np.testing.assert_allclose(x.numpy()[0], arr.astype(np.float32).mean(axis=0), rtol=0, atol=1e-6)
    assert torch.equal(decode_fmri(members["npy"], train=True), x)


def test_single_vector_becomes_one_repetition() -> None:
    vec = np.linspace(-2, 2, VOXELS, dtype=np.float32)
    members, meta = prepare_fmri(vec)
    assert member(members).shape == (1, VOXELS) and meta["fmri_reps"] == 1
    np.testing.assert_allclose(decode_fmri(members["npy"]).numpy()[0], vec.astype(np.float16), atol=0)
    assert decode_fmri(npy(vec.astype(np.float16))).shape == (1, VOXELS)  # a bare vector loads too


# ---------------------------------------------------------------- NIfTI volumes


def test_nifti_4d_with_roi_mask_keeps_masked_voxels_in_c_order(tmp_path: Path) -> None:
    shape = (40, 30, 25)
    rng = np.random.default_rng(1)
    vol = rng.standard_normal((*shape, 3)).astype(np.float32)  # trials on the last axis, as NIfTI stores them
    mask = nsd_mask(shape)
    roi = save_nifti(tmp_path / "roi.nii.gz", mask)
    members, meta = prepare_fmri(save_nifti(tmp_path / "betas.nii.gz", vol), mask=roi)
    assert meta == {"fmri_reps": 3, "fmri_voxels": VOXELS}
    expected = np.stack([vol[..., r][mask > 0] for r in range(3)])  # numpy's boolean indexing: C order
    flat = np.stack([vol[..., r].reshape(-1)[np.flatnonzero(mask.reshape(-1) > 0)] for r in range(3)])
    assert np.array_equal(expected, flat)
    assert np.array_equal(member(members), expected.astype(np.float16))


def test_nifti_3d_volume_and_array_mask(tmp_path: Path) -> None:
    shape = (40, 30, 25)
    vol = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    mask = nsd_mask(shape, seed=3)
    members, meta = prepare_fmri(save_nifti(tmp_path / "one.nii", vol), mask=mask)
    assert meta["fmri_reps"] == 1
    assert np.array_equal(member(members)[0], vol[mask > 0].astype(np.float16))


def test_real_nifti_files() -> None:
    functional = realdata(f"{NIFTI}/functional.nii")  # (17, 21, 3, 20): 1071 voxels a volume
    with pytest.raises(CodecError) as err:
        prepare_fmri(functional)
    assert err.value.reason == "fMRI volume needs an ROI mask"
    with pytest.raises(CodecError) as err:
        prepare_fmri(functional, mask=np.ones((17, 21, 3)))
    assert err.value.reason == "fMRI must have 15724 nsdgeneral voxels"
    assert err.value.detail == "shape (20, 1071)"
    with pytest.raises(CodecError) as err:
        prepare_fmri(functional, mask=np.ones((17, 21, 4)))
    assert err.value.reason == "fMRI volume and ROI mask differ in shape"

    example = realdata(f"{NIFTI}/example4d.nii.gz")  # (128, 96, 24, 2), gzipped int16
    data = np.asarray(nib.load(example).get_fdata(dtype=np.float32))
    mask = np.zeros(data.shape[:3], dtype=np.int8)
    mask.reshape(-1)[np.arange(VOXELS) * 17] = 1
    members, meta = prepare_fmri(example, mask=mask)
    assert meta == {"fmri_reps": 2, "fmri_voxels": VOXELS}
    expected = np.stack([data[..., r][mask > 0] for r in range(2)])
    assert np.array_equal(member(members), expected.astype(np.float16))

    anatomical = realdata(f"{NIFTI}/anatomical.nii")  # (33, 41, 25), big-endian int16
    with pytest.raises(CodecError) as err:
        prepare_fmri(anatomical, mask=np.ones((33, 41, 25)))
    assert err.value.reason == "fMRI must have 15724 nsdgeneral voxels" and err.value.detail == "shape (1, 33825)"


# ---------------------------------------------------------------- rejects


def test_rejects(tmp_path: Path) -> None:
    bad = np.zeros((3, VOXELS), dtype=np.float32)
    bad[1, 5] = np.nan
    with pytest.raises(CodecError) as err:
        prepare_fmri(bad)
    assert err.value.reason == "fMRI has non-finite values"
    bad[1, 5] = np.inf
    with pytest.raises(CodecError) as err:
        prepare_fmri(bad)
    assert err.value.reason == "fMRI has non-finite values"
    big = np.zeros((1, VOXELS))
    big[0, 0] = 1e6
    with pytest.raises(CodecError) as err:
        prepare_fmri(big)
    assert err.value.reason == "fMRI values overflow float16"
    for shape in ((3, 15723), (15725,), (VOXELS, 3), (0, VOXELS)):
        with pytest.raises(CodecError) as err:
            prepare_fmri(np.zeros(shape))
        assert err.value.reason in ("fMRI must have 15724 nsdgeneral voxels", "fMRI has no repetitions")
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY\x01\x00junk")
    with pytest.raises(CodecError) as err:
        prepare_fmri(tmp_path / "junk.npy")
    assert err.value.reason == "undecodable fmri array"
    good = save_nifti(tmp_path / "v.nii.gz", np.zeros((4, 4, 4), np.float32)).read_bytes()
    (tmp_path / "cut.nii.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(CodecError) as err:
        prepare_fmri(tmp_path / "cut.nii.gz", mask=np.ones((4, 4, 4)))
    assert err.value.reason == "undecodable NIfTI volume" and err.value.detail.startswith("cut.nii.gz: ")
    assert "0x" not in err.value.detail
    with pytest.raises(CodecError) as err:
        prepare_fmri(tmp_path / "missing.npy")
    assert err.value.reason == "missing media file"


def test_decode_rejects_wrong_members() -> None:
    with pytest.raises(CodecError) as err:
        decode_fmri(npy(np.zeros((3, 100), np.float16)))
    assert err.value.reason == "fMRI member must be [reps, 15724]"
    with pytest.raises(CodecError) as err:
        decode_fmri(b"nope")
    assert err.value.reason == "undecodable fmri array"


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_float16_voxels_are_rejected(tmp_path: Path, bad: float) -> None:
    vox = np.random.default_rng(3).normal(size=(3, VOXELS)).astype(np.float16)
    vox[2, 100] = bad
    np.save(tmp_path / "trial.npy", vox)
    with pytest.raises(CodecError) as err:
        prepare_fmri(tmp_path / "trial.npy")
    assert err.value.reason == "fMRI has non-finite values"


def test_decode_mean_equals_numpys_float32_mean_for_any_byte_order() -> None:
    rng = np.random.default_rng(4)
    for scale in (0.01, 1.0, 300.0):
        vox = (rng.normal(size=(3, VOXELS)) * scale).astype(np.float16)
        want = vox.astype(np.float32).mean(axis=0, keepdims=True)
        for arr in (vox, vox.astype(">f2")):
            buf = io.BytesIO()
            np.save(buf, arr)
            got = decode_fmri(buf.getvalue())
            assert got.dtype == torch.float32 and np.array_equal(got.numpy(), want)
