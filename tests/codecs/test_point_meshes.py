"""Point clouds from meshes and arrays as found in the wild: textured GLB/glTF/OBJ and vertex-coloured PLY sampled
reproducibly with their colours, colourless meshes flagged, colours checked after every cast, npz layouts."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from onellm_data.codecs.point import NUM_POINTS, decode_point, load_points, prepare_point
from onellm_data.errors import CodecError
from tests.codecs.mesh_files import (
    QUAD_UV_GLTF, QUADRANTS, quadrant_texture, write_coloured_ply, write_glb, write_gltf, write_textured_obj,
)

ROOT = Path(__file__).resolve().parents[2]


def cloud_of(members: dict[str, bytes]) -> np.ndarray:
    arr = np.load(io.BytesIO(members["npy"]), allow_pickle=False)
    assert arr.dtype == np.float32 and arr.shape == (NUM_POINTS, 6)
    assert np.isfinite(decode_point(members["npy"]).numpy()).all()
    return arr


def assert_quadrant_colours(arr: np.ndarray) -> None:
    """Every point away from the texel edges has the colour of its quadrant of the texture."""
    x, y, rgb = arr[:, 0], arr[:, 1], np.rint(arr[:, 3:] * 255)
    assert np.allclose(arr[:, 2], 0) and x.min() >= 0 and x.max() <= 1
    clear = (np.abs(x - 0.5) > 0.01) & (np.abs(y - 0.5) > 0.01)
    assert clear.sum() > NUM_POINTS * 0.9
    for (x_high, y_high), colour in QUADRANTS.items():
        sel = clear & ((x > 0.5) == x_high) & ((y > 0.5) == y_high)
        assert sel.sum() > NUM_POINTS // 8
        assert (rgb[sel] == colour).all(), (colour, np.unique(rgb[sel], axis=0)[:4])


def test_textured_glb_keeps_its_texture_and_is_byte_reproducible(tmp_path: Path) -> None:
    path = write_glb(tmp_path / "quad.glb", uvs=QUAD_UV_GLTF, texture=quadrant_texture())
    members, meta = prepare_point(path)
    assert meta == {"num_points": 2 * NUM_POINTS, "has_color": True}
    assert_quadrant_colours(cloud_of(members))
    assert prepare_point(path)[0]["npy"] == members["npy"]
    # and in a fresh process (no state shared with this one)
    code = ("import sys, hashlib; from onellm_data.codecs.point import prepare_point; "
            "sys.stdout.write(hashlib.sha256(prepare_point(sys.argv[1])[0]['npy']).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    import hashlib

    assert out == hashlib.sha256(members["npy"]).hexdigest()


def test_gltf_with_external_buffer_and_texture(tmp_path: Path) -> None:
    path = write_gltf(tmp_path / "quad.gltf", QUAD_UV_GLTF, quadrant_texture())
    members, meta = prepare_point(path)
    assert meta["has_color"] is True
    assert_quadrant_colours(cloud_of(members))


def test_textured_obj_with_mtl(tmp_path: Path) -> None:
    members, meta = prepare_point(write_textured_obj(tmp_path / "quad.obj", quadrant_texture()))
    assert meta["has_color"] is True
    assert_quadrant_colours(cloud_of(members))


def test_vertex_colours_are_interpolated(tmp_path: Path) -> None:
    """Vertex colours (r, g) = (x, y) at the corners: every sampled point's colour is its position."""
    from tests.codecs.mesh_files import QUAD_V

    colors = np.concatenate([QUAD_V[:, :2], np.full((4, 1), 0.5)], axis=1)
    for path in (write_glb(tmp_path / "c.glb", colors=colors),
                 write_coloured_ply(tmp_path / "c.ply", np.rint(colors * 255).astype(int))):
        members, meta = prepare_point(path)
        assert meta["has_color"] is True
        arr = cloud_of(members)
        np.testing.assert_allclose(arr[:, 3:5], arr[:, 0:2], atol=1 / 255 + 1e-6)
        np.testing.assert_allclose(arr[:, 5], 0.5, atol=1 / 255)


def test_mesh_without_colour_is_flagged_not_silently_black(tmp_path: Path) -> None:
    members, meta = prepare_point(write_glb(tmp_path / "plain.glb"))
    assert meta == {"num_points": 2 * NUM_POINTS, "has_color": False}
    arr = cloud_of(members)
    assert np.all(arr[:, 3:] == 0)
    assert len(np.unique(arr[:, :3], axis=0)) == NUM_POINTS


# ---------------------------------------------------------------- colours after every cast


def xyz(n: int = 100) -> np.ndarray:
    return np.random.default_rng(1).standard_normal((n, 3))


@pytest.mark.parametrize("colour,reason", [
    (1e300, "point colours are not finite"),  # finite in float64, inf in float32
    (np.nan, "point colours are not finite"),
    (-0.5, "point colours are negative"),
    (70000.0, "point colours out of range"),
])
def test_bad_colours_are_rejected(colour: float, reason: str) -> None:
    cloud = np.concatenate([xyz(), np.full((100, 3), 0.5)], axis=1)
    cloud[7, 4] = colour
    with pytest.raises(CodecError) as err:
        prepare_point(cloud)
    assert err.value.reason == reason


def test_coordinates_overflowing_float32_or_pc_norm_are_rejected() -> None:
    cloud = xyz()
    cloud[3, 0] = 1e300
    with pytest.raises(CodecError) as err:
        prepare_point(cloud)
    assert err.value.reason == "point cloud has non-finite values"
    cloud = np.full((100, 3), 3e38)
    cloud[::2] *= -1
    with pytest.raises(CodecError) as err:
        prepare_point(cloud)
    assert err.value.reason == "point cloud is not finite after pc_norm"


@pytest.mark.parametrize("top,scale", [(1.0, 1.0), (255.0, 255.0), (65535.0, 65535.0)])
def test_colour_ranges(top: float, scale: float) -> None:
    rgb = np.linspace(0, top, 300).reshape(100, 3)
    arr = cloud_of(prepare_point(np.concatenate([xyz(), rgb], axis=1))[0])
    assert arr[:, 3:].max() == pytest.approx(1.0)
    np.testing.assert_allclose(arr[:100, 3:], (rgb / scale).astype(np.float32), rtol=1e-6)


# ---------------------------------------------------------------- npz layouts


@pytest.mark.parametrize("names", [("r", "g", "b"), ("red", "green", "blue"), ("R", "G", "B")])
def test_npz_with_separate_axis_and_colour_arrays_keeps_colour(tmp_path: Path, names: tuple[str, ...]) -> None:
    p, rgb = xyz(), np.random.default_rng(2).integers(0, 256, (100, 3)).astype(np.uint8)
    arrays = {"x": p[:, 0], "y": p[:, 1], "z": p[:, 2], **{n: rgb[:, i] for i, n in enumerate(names)}}
    np.savez(tmp_path / "c.npz", **arrays)
    members, meta = prepare_point(tmp_path / "c.npz")
    assert meta == {"num_points": 100, "has_color": True}
    arr = cloud_of(members)
    np.testing.assert_allclose(arr[:100, :3], p.astype(np.float32))
    np.testing.assert_allclose(arr[:100, 3:], rgb / np.float32(255), rtol=1e-6)


def test_npz_with_xyz_and_rgb_arrays(tmp_path: Path) -> None:
    p, rgb = xyz(), np.random.default_rng(3).random((100, 3))
    np.savez(tmp_path / "c.npz", points=p, colors=rgb)
    assert np.array_equal(load_points(tmp_path / "c.npz"), np.concatenate([p, rgb], axis=1))
    np.savez(tmp_path / "xyz_only.npz", x=p[:, 0], y=p[:, 1], z=p[:, 2])
    assert prepare_point(tmp_path / "xyz_only.npz")[1]["has_color"] is False
    np.savez(tmp_path / "odd.npz", a=p, b=rgb)
    with pytest.raises(CodecError) as err:
        prepare_point(tmp_path / "odd.npz")
    assert err.value.reason == "npz point cloud layout not understood" and "a" in err.value.detail
