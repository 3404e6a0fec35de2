"""Depth and normal maps paired with their RGB image: what conversion keeps or resizes, and the paired
transforms at load time."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from onellm_data.codecs.depth import decode_map_pair, prepare_map_pair
from onellm_data.errors import CodecError
from tests.codecs.media import clip_reference, encode, noise_rgb, unnormalize
from tests.conftest import realdata

DEMO = "onellm_demo/depth_normal"


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- real files


def test_real_16bit_depth_is_preserved() -> None:
    color = realdata("depth/open3d_test_data/RGBD/color/00000.jpg")
    depth = realdata("depth/open3d_test_data/RGBD/depth/00000.png")
    members, meta = prepare_map_pair(color, depth, "depth")
    assert members == {"jpg": color.read_bytes(), "depth.png": depth.read_bytes()}
    assert meta == {"width": 640, "height": 480, "map_resized": False, "map_mode": "I;16"}
    x = decode_map_pair(members["jpg"], members["depth.png"])
    assert x.shape == (2, 3, 224, 224) and x.dtype == torch.float32
    # The map: 16-bit millimetres scaled by their maximum into 0-255, grey in all three channels.
    arr = np.asarray(_open(depth.read_bytes())).astype(np.int64)
    scaled = Image.fromarray((arr * 255 // arr.max()).astype(np.uint8), mode="L")
    np.testing.assert_allclose(x[1].numpy(), clip_reference(scaled), atol=1e-5, rtol=0)
    np.testing.assert_allclose(x[0].numpy(), clip_reference(Image.open(color)), atol=1e-5, rtol=0)


@pytest.mark.parametrize("frame", ["0131", "0084"])
def test_real_onellm_demo_depth_is_kept_and_resized_bicubic_at_load(frame: str) -> None:
    """OneLLM's demo maps are 512x512 beside 640x480 images: the map is stored as it is and resized to the image
    bicubic at load time after ``convert('RGB')``, as OneLLM's loader (nearest-neighbour differed by up to 0.35)."""
    rgb = realdata(f"{DEMO}/rgb/{frame}.png")
    depth = realdata(f"{DEMO}/depth/{frame}.png")
    src = _open(depth.read_bytes())
    assert src.size == (512, 512) and src.mode == "L"
    members, meta = prepare_map_pair(rgb, depth, "depth")
    assert meta == {"width": 640, "height": 480, "map_resized": True, "map_mode": "L"}
    assert members == {"png": rgb.read_bytes(), "depth.png": depth.read_bytes()}
    x = decode_map_pair(members["png"], members["depth.png"])
    assert x.shape == (2, 3, 224, 224)
    grey = unnormalize(x[1].numpy())
    np.testing.assert_allclose(grey[0], grey[1], atol=1e-6)  # one grey map in all three channels
    np.testing.assert_allclose(grey[0], grey[2], atol=1e-6)
    want = src.convert("RGB").resize((640, 480), Image.BICUBIC)
    np.testing.assert_allclose(x[1].numpy(), clip_reference(want), atol=1e-5, rtol=0)
    nearest = src.convert("RGB").resize((640, 480), Image.NEAREST)
    assert np.abs(x[1].numpy() - clip_reference(nearest)).max() > 0.01


def test_real_onellm_demo_normal_is_resized_bicubic() -> None:
    rgb = realdata(f"{DEMO}/rgb/0131.png")
    normal = realdata(f"{DEMO}/normal/0131.png")
    members, meta = prepare_map_pair(rgb, normal, "normal")
    assert meta["map_resized"] is True and meta["map_mode"] == "RGB" and set(members) == {"png", "normal.png"}
    assert members["normal.png"] == normal.read_bytes()
    x = decode_map_pair(members["png"], members["normal.png"])
    want = _open(normal.read_bytes()).resize((640, 480), Image.BICUBIC)
    np.testing.assert_allclose(x[1].numpy(), clip_reference(want), atol=1e-5, rtol=0)
    x = decode_map_pair(members["png"], members["normal.png"], train=True, generator=_gen(0))
    assert x.shape == (2, 3, 224, 224)


# ---------------------------------------------------------------- paired transforms


@pytest.mark.parametrize("kind", ["depth", "normal"])
def test_train_crop_uses_the_same_box_for_image_and_map(kind: str) -> None:
    """With a map equal to the image, any difference between the two outputs would be a different crop."""
    img = noise_rgb(300, 260, seed=1)  # aspect within [3/4, 4/3]: real random crops, not the fallback
    if kind == "depth":
        img = img.convert("L").convert("RGB")
    rgb_data = encode(img, "PNG")
    map_data = encode(img.convert("L") if kind == "depth" else img, "PNG")
    members, meta = prepare_map_pair(rgb_data, map_data, kind)
    assert meta["map_resized"] is False and members[f"{kind}.png"] == map_data
    for seed in range(5):
        x = decode_map_pair(members["png"], members[f"{kind}.png"], train=True, generator=_gen(seed))
        assert torch.equal(x[0], x[1])
    a = decode_map_pair(rgb_data, map_data, train=True, generator=_gen(7))
    assert torch.equal(a, decode_map_pair(rgb_data, map_data, train=True, generator=_gen(7)))
    assert not torch.equal(a, decode_map_pair(rgb_data, map_data, train=True, generator=_gen(8)))
    e = decode_map_pair(rgb_data, map_data)
    assert torch.equal(e[0], e[1]) and not torch.equal(e, a)


def test_eval_pair_is_resize_and_centre_crop_of_each() -> None:
    img, depth = noise_rgb(320, 240, seed=2), noise_rgb(320, 240, seed=3).convert("L")
    x = decode_map_pair(encode(img, "JPEG", quality=95), encode(depth, "PNG"))
    np.testing.assert_allclose(x[0].numpy(), clip_reference(_open(encode(img, "JPEG", quality=95))), atol=1e-5, rtol=0)
    np.testing.assert_allclose(x[1].numpy(), clip_reference(depth), atol=1e-5, rtol=0)


def test_decode_resizes_a_map_of_another_size() -> None:
    img, depth = noise_rgb(320, 240, seed=4), noise_rgb(160, 120, seed=5).convert("L")
    x = decode_map_pair(encode(img, "PNG"), encode(depth, "PNG"))
    np.testing.assert_allclose(x[1].numpy(), clip_reference(depth.resize((320, 240), Image.BICUBIC)), atol=1e-5, rtol=0)


# ---------------------------------------------------------------- map formats


def test_non_png_maps_become_png_and_palette_depth_becomes_grey() -> None:
    img = noise_rgb(40, 30, seed=6)
    members, _ = prepare_map_pair(encode(img, "PNG"), encode(img, "JPEG"), "normal")
    assert _open(members["normal.png"]).format == "PNG"
    members, _ = prepare_map_pair(encode(img, "PNG"), encode(img.convert("P"), "PNG"), "depth")
    assert _open(members["depth.png"]).mode == "L"


def test_rejects() -> None:
    img = encode(noise_rgb(40, 30), "PNG")
    with pytest.raises(ValueError):
        prepare_map_pair(img, img, "albedo")
    with pytest.raises(CodecError) as err:
        prepare_map_pair(img, b"not a png", "depth")
    assert err.value.reason == "undecodable depth map"
    assert "0x" not in err.value.detail
    with pytest.raises(CodecError) as err:
        prepare_map_pair(b"", img, "normal")
    assert err.value.reason == "empty image"
    with pytest.raises(CodecError) as err:
        decode_map_pair(img, img[:40])
    assert err.value.reason == "undecodable map"


def test_paths_work(tmp_path: Path) -> None:
    (tmp_path / "rgb.jpg").write_bytes(encode(noise_rgb(40, 30), "JPEG"))
    (tmp_path / "d.png").write_bytes(encode(noise_rgb(40, 30).convert("L"), "PNG"))
    members, meta = prepare_map_pair(tmp_path / "rgb.jpg", tmp_path / "d.png", "depth")
    assert set(members) == {"jpg", "depth.png"}
    assert meta == {"width": 40, "height": 30, "map_resized": False, "map_mode": "L"}
