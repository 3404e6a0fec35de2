"""Depth/normal maps in every PIL mode a map arrives in (8-bit L, 16-bit I;16 / I;16B, 32-bit I, F; RGB normals),
from real PNG, TIFF and netpbm files written in tmp_path: stored losslessly (or scaled as documented), and loaded
with the documented value scaling."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from onellm_data.codecs.depth import decode_map_pair, map_as_rgb, prepare_map_pair
from tests.codecs.media import clip_reference, encode, noise_rgb, png16

W, H = 48, 36


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def depth_mm(seed: int = 0) -> np.ndarray:
    """A smooth millimetre depth ramp with a hole (0) and values past 255, as real sensors write."""
    y, x = np.mgrid[0:H, 0:W]
    arr = 400 + 60 * x + 25 * y + np.random.default_rng(seed).integers(0, 9, (H, W))
    arr[3:6, 4:9] = 0
    return arr.astype(np.uint16)


def pgm16(arr: np.ndarray) -> bytes:
    """Binary PGM (P5) with maxval 65535: samples big-endian, as the netpbm spec says."""
    return f"P5\n{arr.shape[1]} {arr.shape[0]}\n65535\n".encode() + arr.astype(">u2").tobytes()


def ppm16(arr: np.ndarray) -> bytes:
    return f"P6\n{arr.shape[1]} {arr.shape[0]}\n65535\n".encode() + arr.astype(">u2").tobytes()


def tiff(img: Image.Image) -> bytes:
    return encode(img, "TIFF")


def scaled_by_max(values: np.ndarray) -> Image.Image:
    """The documented load-side rule for wide maps: floor(value × 255 / max), grey."""
    if values.dtype.kind == "u":
        grey = values.astype(np.uint64) * 255 // int(values.max())
    else:
        grey = np.floor(values.astype(np.float64) * 255 / values.max())
    return Image.fromarray(grey.clip(0, 255).astype(np.uint8), mode="L")


MM = depth_mm()
# (case, map bytes, the mode PIL opens it in, the values it must keep)
SIXTEEN_BIT = [
    ("png-I;16", png16(MM), "I;16"),
    ("tiff-I;16", tiff(Image.fromarray(MM)), "I;16"),
    ("tiff-I;16B", tiff(Image.frombytes("I;16B", (W, H), MM.astype(">u2").tobytes())), "I;16B"),
    ("pgm-16bit-big-endian", pgm16(MM), "I"),
    ("tiff-I-32bit", tiff(Image.fromarray(MM.astype(np.int32))), "I"),
    ("tiff-F-integer-mm", tiff(Image.fromarray(MM.astype(np.float32))), "F"),
]


@pytest.mark.parametrize("data,mode", [pytest.param(d, m, id=c) for c, d, m in SIXTEEN_BIT])
def test_16bit_depth_in_any_container_is_kept_exactly(data: bytes, mode: str) -> None:
    rgb = encode(noise_rgb(W, H), "PNG")
    members, meta = prepare_map_pair(rgb, data, "depth")
    assert meta == {"width": W, "height": H, "map_resized": False, "map_mode": mode}
    stored = _open(members["depth.png"])
    assert stored.format == "PNG" and stored.mode == "I;16"
    assert np.array_equal(np.asarray(stored), MM)  # lossless
    x = decode_map_pair(members["png"], members["depth.png"])
    np.testing.assert_allclose(x[1].numpy(), clip_reference(scaled_by_max(MM)), atol=1e-5, rtol=0)


def test_8bit_depth_from_png_tiff_and_pgm() -> None:
    grey = (MM // 16).astype(np.uint8)
    img = Image.fromarray(grey)
    rgb = encode(noise_rgb(W, H), "PNG")
    pgm = encode(img, "PPM")
    assert pgm[:2] == b"P5"
    for data, fmt in ((encode(img, "PNG"), "PNG"), (tiff(img), "TIFF"), (pgm, "PGM")):
        members, meta = prepare_map_pair(rgb, data, "depth")
        assert meta["map_mode"] == "L"
        stored = _open(members["depth.png"])
        assert stored.mode == "L" and np.array_equal(np.asarray(stored), grey)
        if fmt == "PNG":
            assert members["depth.png"] == data  # a PNG of a storable mode is kept byte for byte
        x = decode_map_pair(members["png"], members["depth.png"])
        # 8-bit maps load as OneLLM reads them: convert('RGB'), values / 255.
        np.testing.assert_allclose(x[1].numpy(), clip_reference(img), atol=1e-5, rtol=0)


def test_float_metres_are_scaled_into_16_bits_with_the_scale_recorded() -> None:
    metres = MM.astype(np.float32) / 1000.0
    metres[0, 0], metres[0, 1], metres[1, 0] = np.nan, np.inf, -1.0  # invalid depth
    members, meta = prepare_map_pair(encode(noise_rgb(W, H), "PNG"), tiff(Image.fromarray(metres)), "depth")
    assert meta["map_mode"] == "F"
    top = float(MM.max()) / 1000.0
    assert meta["map_scale"] == pytest.approx(65535 / top)
    stored = np.asarray(_open(members["depth.png"]), dtype=np.float64)
    valid = np.where(np.isfinite(metres) & (metres > 0), metres, 0).astype(np.float64)
    assert stored[0, 0] == stored[0, 1] == stored[1, 0] == 0
    np.testing.assert_allclose(stored / meta["map_scale"], valid, atol=0.5 / meta["map_scale"] + 1e-9)
    x = decode_map_pair(members["png"], members["depth.png"])
    assert np.isfinite(x.numpy()).all()


def test_32bit_values_past_16_bits_are_scaled() -> None:
    big = MM.astype(np.int32) * 1000  # micrometres: up to ~4e6
    members, meta = prepare_map_pair(encode(noise_rgb(W, H), "PNG"), tiff(Image.fromarray(big)), "depth")
    assert meta["map_mode"] == "I" and meta["map_scale"] == pytest.approx(65535 / big.max())
    stored = np.asarray(_open(members["depth.png"]))
    assert stored.max() == 65535 and np.array_equal(stored, np.rint(big * meta["map_scale"]).astype(np.uint16))


def test_pfm_float_map() -> None:
    data = encode(Image.fromarray(MM.astype(np.float32) / 7.0), "PPM")
    assert data[:2] == b"Pf"
    members, meta = prepare_map_pair(encode(noise_rgb(W, H), "PNG"), data, "depth")
    assert meta["map_mode"] == "F" and "map_scale" in meta
    x = decode_map_pair(members["png"], members["depth.png"])
    np.testing.assert_allclose(x[1].numpy(), clip_reference(scaled_by_max(MM.astype(np.float64) / 7.0)), atol=2 / 255 / 0.26)


def test_normal_maps_from_ppm_8_and_16_bit_and_tiff() -> None:
    normal = np.asarray(noise_rgb(W, H, seed=9))
    rgb = encode(noise_rgb(W, H), "PNG")
    for data in (encode(Image.fromarray(normal), "PPM"), tiff(Image.fromarray(normal)),
                 ppm16(normal.astype(np.uint16) * 257)):
        members, meta = prepare_map_pair(rgb, data, "normal")
        assert meta["map_mode"] == "RGB"
        stored = _open(members["normal.png"])
        assert stored.mode == "RGB" and np.array_equal(np.asarray(stored), normal)
        x = decode_map_pair(members["png"], members["normal.png"])
        np.testing.assert_allclose(x[1].numpy(), clip_reference(Image.fromarray(normal)), atol=1e-5, rtol=0)


def test_16bit_rgb_png_normal_is_read_as_pil_reads_it() -> None:
    normal16 = np.asarray(noise_rgb(W, H, seed=10)).astype(np.uint16) * 257
    members, meta = prepare_map_pair(encode(noise_rgb(W, H), "PNG"), png16(normal16), "normal")
    assert meta["map_mode"] == "RGB"
    assert np.array_equal(np.asarray(_open(members["normal.png"])), (normal16 // 257).astype(np.uint8))


def test_alpha_and_palette_maps() -> None:
    rgb = encode(noise_rgb(W, H), "PNG")
    grey = Image.fromarray((MM // 16).astype(np.uint8))
    members, meta = prepare_map_pair(rgb, encode(grey.convert("LA"), "PNG"), "depth")
    assert meta["map_mode"] == "LA" and np.array_equal(np.asarray(_open(members["depth.png"])), np.asarray(grey))
    colour = noise_rgb(W, H, seed=11)
    members, _ = prepare_map_pair(rgb, encode(colour.convert("RGBA"), "PNG"), "normal")
    assert np.array_equal(np.asarray(_open(members["normal.png"])), np.asarray(colour))
    members, _ = prepare_map_pair(rgb, encode(colour.convert("P"), "PNG"), "normal")
    assert _open(members["normal.png"]).mode == "RGB"


def test_wide_map_scaling_is_by_maximum_and_all_zero_stays_black() -> None:
    arr = np.zeros((10, 10), dtype=np.uint16)
    arr[0, 0], arr[5, 5] = 4000, 2000
    out = np.asarray(map_as_rgb(Image.fromarray(arr)))
    assert out.shape == (10, 10, 3) and out[0, 0].tolist() == [255] * 3 and out[5, 5].tolist() == [127] * 3
    assert np.asarray(map_as_rgb(Image.fromarray(np.zeros((4, 4), np.uint16)))).max() == 0
    f = np.full((4, 4), np.nan, dtype=np.float32)
    f[0, 0] = 2.0
    assert np.asarray(map_as_rgb(Image.fromarray(f)))[0, 0].tolist() == [255] * 3
