"""Point-cloud codec: sources (npy, pt, pcd, xyz, ply clouds and meshes, obj/off/stl), the 8192-point rule (FPS above,
cycling below), colours, rejects and pc_norm."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from onellm_data.codecs.point import (
    NUM_POINTS, decode_point, load_points, normalise_points, pc_norm, prepare_point,
)
from onellm_data.errors import CodecError
from tests.conftest import realdata

OBJAVERSE = "pointllm_format/Tiaozhanbei/data/objaverse_data"


def members_array(members: dict[str, bytes]) -> np.ndarray:
    assert list(members) == ["npy"]
    arr = np.load(io.BytesIO(members["npy"]), allow_pickle=False)
    assert arr.dtype == np.float32 and arr.shape == (NUM_POINTS, 6)
    return arr


def brute_force_fps(xyz: np.ndarray, k: int) -> list[int]:
    """Greedy farthest-point selection from point 0 with the full distance matrix: each next point maximises its
    distance to the nearest already chosen point."""
    d = np.sqrt(((xyz[:, None, :] - xyz[None, :, :]) ** 2).sum(-1))
    chosen = [0]
    while len(chosen) < k:
        nearest = d[:, chosen].min(axis=1)
        chosen.append(int(np.argmax(nearest)))
    return chosen


CUBE_V = [(x, y, z) for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]
CUBE_F = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
          (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]


# ---------------------------------------------------------------- FPS


def test_more_than_8192_points_are_sampled_by_fps() -> None:
    rng = np.random.default_rng(3)
    cloud = np.concatenate([rng.standard_normal((500, 3)), rng.random((500, 3))], axis=1)
    small, meta = normalise_points(cloud, num_points=64)
    assert meta == {"num_points": 500, "has_color": True}
    assert np.array_equal(small, cloud[brute_force_fps(cloud[:, :3], 64)].astype(np.float32))
    big = np.concatenate([rng.standard_normal((9000, 3)), rng.random((9000, 3))], axis=1)
    arr = members_array(prepare_point(big)[0])
    assert np.array_equal(arr[0], big[0].astype(np.float32))  # FPS starts at point 0
    assert len(np.unique(arr, axis=0)) == NUM_POINTS  # no point twice


def test_fewer_points_are_padded_by_cycling() -> None:
    cloud = np.arange(240, dtype=np.float64).reshape(40, 6) / 240  # 32 points or more: below that, a reject
    arr = members_array(prepare_point(cloud)[0])
    assert np.array_equal(arr, cloud[np.arange(NUM_POINTS) % 40].astype(np.float32))


# ---------------------------------------------------------------- sources


def test_real_pointllm_npy_float64(tmp_path: Path) -> None:
    files = sorted(realdata(OBJAVERSE).glob("*_8192.npy"))
    assert files
    for path in files[:5]:
        src = np.load(path)
        assert src.dtype == np.float64 and src.shape == (8192, 6)
        members, meta = prepare_point(path)
        assert meta == {"num_points": 8192, "has_color": True}
        arr = members_array(members)
        assert np.array_equal(arr, src.astype(np.float32))  # exactly 8192: no resampling, only float32
        assert 0.0 <= arr[:, 3:].min() and arr[:, 3:].max() <= 1.0


def test_real_pcd_with_packed_rgb_is_padded() -> None:
    path = realdata("pointcloud/open3d_test_data/Feature/cloud_bin_0.pcd")
    src = load_points(path)
    assert src.shape == (3903, 6)
    members, meta = prepare_point(path)
    assert meta == {"num_points": 3903, "has_color": True}
    arr = members_array(members)
    assert np.array_equal(arr, src[np.arange(NUM_POINTS) % 3903].astype(np.float32))
    assert arr[:, 3:].max() <= 1.0 and arr[:, 3:].max() > 0.5  # real colours, in [0, 1]


def test_real_ply_mesh_is_surface_sampled_deterministically() -> None:
    path = realdata("pointcloud/open3d_test_data/bathtub_0154.ply")
    import open3d as o3d

    mesh = o3d.io.read_triangle_mesh(str(path))
    vertices = np.asarray(mesh.vertices)
    assert len(vertices) == 1494 and len(mesh.triangles) == 1194
    members, meta = prepare_point(path)
    assert meta == {"num_points": 2 * NUM_POINTS, "has_color": False}
    arr = members_array(members)
    assert np.array_equal(members["npy"], prepare_point(path)[0]["npy"])  # same bytes again
    assert np.all(arr[:, 3:] == 0)
    assert len(np.unique(arr[:, :3], axis=0)) == NUM_POINTS  # not the 1494 vertices cycled
    lo, hi = vertices.min(axis=0) - 1e-4, vertices.max(axis=0) + 1e-4
    assert np.all((arr[:, :3] >= lo) & (arr[:, :3] <= hi))


def _write_obj(path: Path) -> None:
    lines = [f"v {x} {y} {z}" for x, y, z in CUBE_V] + [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in CUBE_F]
    path.write_text("\n".join(lines) + "\n")


def _write_off(path: Path) -> None:
    lines = ["OFF", f"{len(CUBE_V)} {len(CUBE_F)} 0"] + [f"{x} {y} {z}" for x, y, z in CUBE_V]
    lines += [f"3 {a} {b} {c}" for a, b, c in CUBE_F]
    path.write_text("\n".join(lines) + "\n")


def _write_stl(path: Path) -> None:
    """ASCII STL: every facet repeats its three corners (no shared vertex list)."""
    lines = ["solid cube"]
    for face in CUBE_F:
        lines += ["facet normal 0 0 0", "outer loop", *(f"vertex {x} {y} {z}" for x, y, z in (CUBE_V[i] for i in face)),
                  "endloop", "endfacet"]
    path.write_text("\n".join([*lines, "endsolid cube"]) + "\n")


@pytest.mark.parametrize("ext,writer", [("obj", _write_obj), ("off", _write_off), ("stl", _write_stl)])
def test_generated_meshes_are_sampled_on_the_surface(tmp_path: Path, ext: str, writer) -> None:
    path = tmp_path / f"cube.{ext}"
    writer(path)
    members, meta = prepare_point(path)
    assert meta == {"num_points": 2 * NUM_POINTS, "has_color": False}
    xyz = members_array(members)[:, :3]
    assert np.allclose(np.abs(xyz).max(axis=1), 0.5, atol=1e-5)  # every point on a face of the cube
    faces = {(axis, sign) for axis in range(3) for sign in (-0.5, 0.5) if np.any(np.isclose(xyz[:, axis], sign))}
    assert len(faces) == 6
    assert members["npy"] == prepare_point(path)[0]["npy"]


def test_ply_point_cloud_without_faces_keeps_its_points(tmp_path: Path) -> None:
    import open3d as o3d

    rng = np.random.default_rng(4)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(rng.standard_normal((100, 3))))
    cloud.colors = o3d.utility.Vector3dVector(rng.random((100, 3)))
    o3d.io.write_point_cloud(str(tmp_path / "c.ply"), cloud)
    src = load_points(tmp_path / "c.ply")
    assert src.shape == (100, 6)
    np.testing.assert_allclose(src[:, :3], np.asarray(cloud.points), atol=1e-6)
    assert prepare_point(tmp_path / "c.ply")[1] == {"num_points": 100, "has_color": True}


def test_xyz_and_pcd_text_clouds_keep_their_points(tmp_path: Path) -> None:
    import open3d as o3d

    rng = np.random.default_rng(7)
    points, colours = rng.standard_normal((50, 3)), rng.integers(0, 256, (50, 3)) / 255  # PCD packs 8-bit rgb
    (tmp_path / "c.xyz").write_text("\n".join(" ".join(f"{v:.9f}" for v in row) for row in points) + "\n")
    src = load_points(tmp_path / "c.xyz")
    np.testing.assert_allclose(src, points, atol=1e-8)
    assert prepare_point(tmp_path / "c.xyz")[1] == {"num_points": 50, "has_color": False}
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    cloud.colors = o3d.utility.Vector3dVector(colours)
    o3d.io.write_point_cloud(str(tmp_path / "c.pcd"), cloud, write_ascii=True)
    np.testing.assert_allclose(load_points(tmp_path / "c.pcd"), np.concatenate([points, colours], axis=1), atol=1e-6)
    members, meta = prepare_point(tmp_path / "c.pcd")
    assert meta == {"num_points": 50, "has_color": True}
    np.testing.assert_allclose(members_array(members)[:50, 3:], colours.astype(np.float32), atol=1e-6)


def test_pt_tensors_in_both_layouts(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    cloud = np.concatenate([rng.standard_normal((700, 3)), rng.random((700, 3))], axis=1)
    torch.save(torch.from_numpy(cloud.T.copy()), tmp_path / "it.pt")  # [6, N], OneLLM's IT files
    torch.save(torch.from_numpy(cloud[:, :3].copy()), tmp_path / "xyz.pt")
    assert np.array_equal(load_points(tmp_path / "it.pt"), cloud)
    assert prepare_point(tmp_path / "it.pt")[1] == {"num_points": 700, "has_color": True}
    members, meta = prepare_point(tmp_path / "xyz.pt")
    assert meta == {"num_points": 700, "has_color": False}
    assert np.all(members_array(members)[:, 3:] == 0)


def test_clouds_without_colour_get_zero_rgb_and_8bit_colours_scale() -> None:
    xyz = np.random.default_rng(6).standard_normal((100, 3))
    members, meta = prepare_point(xyz)
    assert meta["has_color"] is False and np.all(members_array(members)[:, 3:] == 0)
    rgb255 = np.tile([[255.0, 128.0, 0.0]], (100, 1))
    arr = members_array(prepare_point(np.concatenate([xyz, rgb255], axis=1))[0])
    np.testing.assert_allclose(arr[0, 3:], [1.0, 128 / 255, 0.0], atol=1e-7)


def test_npz_source(tmp_path: Path) -> None:
    cloud = np.random.default_rng(7).random((10, 6))
    np.savez(tmp_path / "a.npz", points=cloud)
    assert np.array_equal(load_points(tmp_path / "a.npz"), cloud)


# ---------------------------------------------------------------- rejects


@pytest.mark.parametrize("shape,reason", [
    ((100, 4), "point cloud must have 3 (xyz) or 6 (xyz+rgb) columns"),
    ((100, 7), "point cloud must have 3 (xyz) or 6 (xyz+rgb) columns"),
    ((100,), "point cloud array must be 2-D"),
    ((2, 100, 6), "point cloud array must be 2-D"),
    ((0, 6), "point cloud has no points"),
])
def test_wrong_shapes_are_rejected(shape: tuple[int, ...], reason: str) -> None:
    with pytest.raises(CodecError) as err:
        prepare_point(np.zeros(shape))
    assert err.value.reason == reason


def test_bad_files_are_rejected(tmp_path: Path) -> None:
    bad = np.zeros((50, 6))
    bad[3, 1] = np.inf
    with pytest.raises(CodecError) as err:
        prepare_point(bad)
    assert err.value.reason == "point cloud has non-finite values"
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(CodecError) as err:
        prepare_point(tmp_path / "junk.npy")
    assert err.value.reason == "undecodable point cloud" and err.value.detail.startswith("junk.npy: ")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CodecError) as err:
        prepare_point(tmp_path / "obj.npy")  # pickles are never loaded
    assert err.value.reason == "undecodable point cloud"
    (tmp_path / "a.las").write_bytes(b"x")
    with pytest.raises(CodecError) as err:
        prepare_point(tmp_path / "a.las")
    assert err.value.reason == "unsupported point cloud format"
    with pytest.raises(CodecError) as err:
        prepare_point(tmp_path / "missing.npy")
    assert err.value.reason == "missing media file"
    (tmp_path / "empty.obj").write_text("# nothing\n")
    with pytest.raises(CodecError) as err:
        prepare_point(tmp_path / "empty.obj")
    assert err.value.reason == "point cloud has no points"


# ---------------------------------------------------------------- decode


def test_decode_applies_pc_norm() -> None:
    rng = np.random.default_rng(8)
    cloud = np.concatenate([rng.standard_normal((8192, 3)) * 5 + 3, rng.random((8192, 3))], axis=1)
    data = prepare_point(cloud)[0]["npy"]
    x = decode_point(data)
    assert x.shape == (8192, 6) and x.dtype == torch.float32
    assert torch.allclose(x[:, :3].mean(dim=0), torch.zeros(3), atol=1e-5)
    assert float(x[:, :3].norm(dim=1).max()) == pytest.approx(1.0, abs=1e-6)
    assert torch.equal(x[:, 3:], torch.from_numpy(cloud[:, 3:].astype(np.float32)))  # rgb unchanged
    # OneLLM's pc_norm (centroid, then the max radius) in float64:
    xyz = cloud[:, :3].astype(np.float32).astype(np.float64)
    xyz = xyz - xyz.mean(axis=0)
    np.testing.assert_allclose(x[:, :3].numpy(), xyz / np.sqrt((xyz ** 2).sum(1)).max(), atol=1e-6)
    assert torch.equal(decode_point(data, train=True), x)


def test_pc_norm_of_a_single_repeated_point_does_not_divide_by_zero() -> None:
    x = pc_norm(torch.ones(10, 6))
    assert torch.isfinite(x).all() and torch.all(x[:, :3] == 0)


def test_decode_rejects_wrong_members() -> None:
    buf = io.BytesIO()
    np.save(buf, np.zeros((8192, 3), np.float32))
    with pytest.raises(CodecError) as err:
        decode_point(buf.getvalue())
    assert err.value.reason == "point member must be [N, 6]"
    with pytest.raises(CodecError) as err:
        decode_point(b"garbage")
    assert err.value.reason == "undecodable point cloud array"
