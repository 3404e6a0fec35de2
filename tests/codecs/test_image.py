"""Image codec: what conversion keeps or re-encodes, its rejects, and the CLIP transforms against references."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from PIL import Image

from onellm_data.codecs import _vision
from onellm_data.codecs.image import decode_image, prepare_image
from onellm_data.errors import CodecError
from tests.codecs.media import CLIP_MEAN, CLIP_STD, clip_reference, encode, noise_rgb, png16
from tests.conftest import realdata

CMP_ATOL = 1e-5  # float32 normalisation vs the float64 reference


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# ---------------------------------------------------------------- conversion: kept byte for byte


@pytest.mark.parametrize("fmt,ext,mode", [
    ("JPEG", "jpg", "RGB"), ("JPEG", "jpg", "L"), ("PNG", "png", "RGB"), ("PNG", "png", "RGBA"),
    ("PNG", "png", "P"), ("PNG", "png", "L"), ("PNG", "png", "LA"), ("WEBP", "webp", "RGB"),
    ("WEBP", "webp", "RGBA"),
])
def test_plain_jpeg_png_webp_are_kept_byte_for_byte(fmt: str, ext: str, mode: str) -> None:
    data = encode(noise_rgb(70, 50).convert(mode), fmt)
    members, meta = prepare_image(data)
    assert members == {ext: data}
    assert meta == {"width": 70, "height": 50}


def test_prepare_reads_a_path_and_rejects_a_missing_one(tmp_path: Path) -> None:
    data = encode(noise_rgb(33, 17), "JPEG")
    (tmp_path / "a.jpg").write_bytes(data)
    assert prepare_image(tmp_path / "a.jpg")[0] == {"jpg": data}
    assert prepare_image(str(tmp_path / "a.jpg"))[1] == {"width": 33, "height": 17}
    with pytest.raises(CodecError) as err:
        prepare_image(tmp_path / "nope.jpg")
    assert err.value.reason == "missing media file"


def test_mpo_camera_jpeg_is_kept_as_jpeg() -> None:
    """Cameras write MPO (a JPEG with extra pictures); every JPEG decoder reads its first picture."""
    first, second = noise_rgb(40, 30, seed=1), noise_rgb(40, 30, seed=2)
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert _open(data).format == "MPO"
    members, meta = prepare_image(data)
    assert members == {"jpg": data}
    assert meta == {"width": 40, "height": 30}


# ---------------------------------------------------------------- conversion: re-encoded as PNG


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "PPM", "TGA"])
def test_other_formats_become_lossless_png(fmt: str) -> None:
    src = noise_rgb(45, 31, seed=3)
    members, meta = prepare_image(encode(src, fmt))
    assert list(members) == ["png"]
    out = _open(members["png"])
    assert out.format == "PNG" and out.mode == "RGB"
    assert np.array_equal(np.asarray(out), np.asarray(src))
    assert meta == {"width": 45, "height": 31}


def test_animated_gif_becomes_png_of_its_first_frame() -> None:
    frames = [noise_rgb(20, 10, seed=s).convert("P") for s in range(3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert _open(data).n_frames == 3
    members, _ = prepare_image(data)
    out = _open(members["png"])
    assert getattr(out, "n_frames", 1) == 1
    assert np.array_equal(np.asarray(out.convert("RGB")), np.asarray(frames[0].convert("RGB")))


def test_animated_webp_becomes_png_of_its_first_frame() -> None:
    frames = [noise_rgb(20, 10, seed=s) for s in range(2)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    members, _ = prepare_image(data)
    assert list(members) == ["png"]
    assert np.array_equal(np.asarray(_open(members["png"]).convert("RGB")), np.asarray(frames[0]))


def test_cmyk_jpeg_becomes_rgb_png_with_the_same_pixels() -> None:
    data = encode(noise_rgb(32, 24, seed=4).convert("CMYK"), "JPEG", quality=95)
    src = _open(data)
    assert src.format == "JPEG" and src.mode == "CMYK"
    members, meta = prepare_image(data)
    out = _open(members["png"])
    assert out.mode == "RGB"
    assert np.array_equal(np.asarray(out), np.asarray(src.convert("RGB")))
    assert meta == {"width": 32, "height": 24}


def test_16bit_grey_png_becomes_8bit_png_scaled_not_clipped() -> None:
    """PIL's convert('RGB') clips 16-bit greys at 255 (a white image); the codec scales by 65535/255."""
    values = (np.arange(48 * 64, dtype=np.float64).reshape(48, 64) * 21.3).astype(np.uint16)
    data = png16(values)
    assert _open(data).mode.startswith("I")
    members, meta = prepare_image(data)
    out = _open(members["png"])
    assert out.mode == "RGB"
    expected = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
    assert np.array_equal(np.asarray(out)[..., 0], expected)
    assert meta == {"width": 64, "height": 48}
    x = decode_image(members["png"])
    assert float(x.std()) > 0.5  # not a saturated white square
    assert torch.equal(decode_image(data), x)  # a 16-bit PNG met at load time decodes the same way


def test_16bit_rgb_png_becomes_8bit_png() -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    data = png16(values)
    members, _ = prepare_image(data)
    out = _open(members["png"])
    assert members["png"][24] == 8  # IHDR bit depth
    assert np.abs(np.asarray(out).astype(int) - (values >> 8)).max() <= 1


def test_rgba_from_other_formats_becomes_png_with_alpha() -> None:
    src = noise_rgb(25, 15, seed=6).convert("RGBA")
    arr = np.asarray(src).copy()
    arr[..., 3] = np.arange(25, dtype=np.uint8)[None, :] * 10
    src = Image.fromarray(arr, mode="RGBA")
    members, _ = prepare_image(encode(src, "TIFF"))
    out = _open(members["png"])
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out), arr)


def test_float_tiff_scales_from_unit_range() -> None:
    arr = np.linspace(0, 1, 16 * 8, dtype=np.float32).reshape(8, 16)
    members, _ = prepare_image(encode(Image.fromarray(arr, mode="F"), "TIFF"))
    out = np.asarray(_open(members["png"]))[..., 0]
    assert np.array_equal(out, np.rint(arr * 255).astype(np.uint8))


# ---------------------------------------------------------------- rejects


def test_empty_image_is_rejected() -> None:
    with pytest.raises(CodecError) as err:
        prepare_image(b"")
    assert err.value.reason == "empty image"


def test_garbage_is_rejected_with_a_deterministic_detail() -> None:
    with pytest.raises(CodecError) as err:
        prepare_image(b"this is not an image at all" * 4)
    assert err.value.reason == "undecodable image"
    # PIL says "cannot identify image file <_io.BytesIO object at 0x7f…>": the address changes every run.
    assert err.value.detail == "cannot identify image file <_io.BytesIO>"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_image_is_rejected(fmt: str) -> None:
    data = encode(noise_rgb(200, 150, seed=7), fmt, **({"quality": 95} if fmt != "PNG" else {}))
    with pytest.raises(CodecError) as err:
        prepare_image(data[: len(data) // 2])
    assert err.value.reason == "undecodable image"
    assert err.value.detail and "0x" not in err.value.detail
    with pytest.raises(CodecError):
        decode_image(data[: len(data) // 2])


# ---------------------------------------------------------------- eval transform


@pytest.mark.parametrize("size", [(339, 224), (640, 427), (300, 451), (100, 80), (224, 224), (225, 500), (7, 3)])
def test_eval_transform_equals_the_reference(size: tuple[int, int]) -> None:
    img = noise_rgb(*size, seed=sum(size))
    data = encode(img, "PNG")
    x = decode_image(data)
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32
    np.testing.assert_allclose(x.numpy(), clip_reference(img), atol=CMP_ATOL, rtol=0)


def test_eval_transform_crops_the_centre_with_torchvision_rounding() -> None:
    """339 → margin 115: torchvision rounds 57.5 half-to-even to 58 (transformers' CLIP processor floors to 57)."""
    arr = np.zeros((224, 339, 3), dtype=np.uint8)
    arr[:, :, 0] = np.minimum(np.arange(339), 255)[None, :]
    x = decode_image(encode(Image.fromarray(arr), "PNG"))
    red = (x[0] * _vision.CLIP_STD[0] + _vision.CLIP_MEAN[0]) * 255
    assert round(float(red[0, 0])) == 58


def test_eval_transform_matches_transformers_clip_processor_where_rounding_agrees() -> None:
    proc_cls = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
    proc = proc_cls(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224})
    img = noise_rgb(640, 480, seed=8)  # 298 × 224 after resize: an even margin, both crop at 37
    ref = proc(images=img, return_tensors="np")["pixel_values"][0]
    np.testing.assert_allclose(decode_image(encode(img, "PNG")).numpy(), ref, atol=1e-4, rtol=0)


def test_eval_and_train_drop_alpha_like_convert_rgb() -> None:
    rgba = noise_rgb(60, 60, seed=9).convert("RGBA")
    arr = np.asarray(rgba).copy()
    arr[..., 3] = 0  # fully transparent: the colour underneath is what convert('RGB') keeps
    rgba = Image.fromarray(arr, mode="RGBA")
    np.testing.assert_allclose(decode_image(encode(rgba, "PNG")).numpy(),
                               clip_reference(rgba.convert("RGB")), atol=CMP_ATOL, rtol=0)


# ---------------------------------------------------------------- train transform


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_train_transform_shape_determinism_and_seed_dependence() -> None:
    data = encode(noise_rgb(320, 240, seed=10), "JPEG", quality=90)
    a = decode_image(data, train=True, generator=_gen(1))
    b = decode_image(data, train=True, generator=_gen(1))
    c = decode_image(data, train=True, generator=_gen(2))
    assert a.shape == (3, 224, 224)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, decode_image(data))


def test_random_resized_crop_params_stay_in_range() -> None:
    gen = _gen(0)
    for _ in range(200):
        top, left, h, w = _vision.random_resized_crop_params(320, 240, gen)
        assert 0 <= top and top + h <= 240 and 0 <= left and left + w <= 320
        area = h * w / (320 * 240)
        assert 0.88 <= area <= 1.0
        assert 0.74 <= w / h <= 1.35


def test_random_resized_crop_falls_back_to_a_centre_crop() -> None:
    # A 1000 × 10 strip: no crop of 90-100 % area has an aspect in [3/4, 4/3]; torchvision takes the centre.
    assert _vision.random_resized_crop_params(1000, 10, _gen(0)) == (0, 493, 10, 13)


def test_train_crop_is_crop_then_resize_like_torchvision() -> None:
    """torchvision's resized_crop crops first; resizing with PIL's box= reads pixels outside the crop."""
    img = noise_rgb(300, 250, seed=11)
    box = _vision.random_resized_crop_params(300, 250, _gen(3))
    assert box != _vision.random_resized_crop_params(300, 250, _gen(4))  # a random box, not the fallback
    top, left, h, w = box
    ref = img.crop((left, top, left + w, top + h)).resize((224, 224), Image.BICUBIC)
    x = decode_image(encode(img, "PNG"), train=True, generator=_gen(3))
    expected = (np.asarray(ref, dtype=np.float64).transpose(2, 0, 1) / 255.0 - CLIP_MEAN) / CLIP_STD
    np.testing.assert_allclose(x.numpy(), expected, atol=CMP_ATOL, rtol=0)


# ---------------------------------------------------------------- real COCO JPEGs


def test_real_coco_jpegs() -> None:
    folder = realdata("coco/train2017")
    files = sorted(folder.glob("*.jpg"))
    assert len(files) == 80
    for i, path in enumerate(files):
        data = path.read_bytes()
        members, meta = prepare_image(path)
        assert members == {"jpg": data}
        with Image.open(path) as img:
            assert meta == {"width": img.width, "height": img.height}
            if i % 10 == 0:  # the full comparison on every tenth keeps the test fast
                np.testing.assert_allclose(decode_image(data).numpy(), clip_reference(img), atol=CMP_ATOL, rtol=0)
    x = decode_image(files[0].read_bytes(), train=True, generator=_gen(0))
    assert x.shape == (3, 224, 224) and torch.isfinite(x).all()
