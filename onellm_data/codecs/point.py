"""Point-cloud codec. Conversion reads .npy/.npz/.pt arrays, .ply/.pcd/.xyz/.pts clouds and meshes (PLY with
faces, OBJ, OFF, STL, GLB, glTF: surface sampled, seeded, see :mod:`point_mesh`) and stores float32 [8192, 6]
(xyz + rgb in [0, 1]).

Rules: clouds with more points are sampled by FPS on xyz (the tokenizer's FPS, :mod:`point_fps`); clouds with
fewer are kept whole and padded by cycling through their points. Colours: values up to 1 are kept, up to 255 are
8-bit (÷ 255), up to 65535 16-bit (÷ 65535); others, and negative ones, are a reject. A cloud without colour
gets rgb = 0 and ``has_color: false`` in its metadata. Every value is checked finite after its final cast to
float32 (1e300 becomes inf there), and the stored member is decoded once as the loader will.
Loading applies OneLLM's ``pc_norm`` (centre on the centroid, scale into the unit sphere; rgb unchanged)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from onellm_data.codecs._detail import exc_detail
from onellm_data.codecs._npy import npy_bytes, read_npy
from onellm_data.codecs.check import proven
from onellm_data.codecs.point_fps import fps_numpy
from onellm_data.errors import CodecError

NUM_POINTS = 8192
MIN_POINTS = 32
MESH_EXTS = {"obj", "off", "stl", "glb", "gltf"}
CLOUD_EXTS = {"ply", "pcd", "xyz", "pts"}
COLOUR_RANGES = (1.0, 255.0, 65535.0)  # [0, 1] floats, 8-bit, 16-bit
NPZ_AXES = ("x", "y", "z")
NPZ_COLOURS = (("r", "g", "b"), ("red", "green", "blue"))
NPZ_XYZ = ("xyz", "points", "pos", "coords", "coord", "vertices")
NPZ_RGB = ("rgb", "colors", "colours", "color", "colour")


def _from_array(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.kind not in "biuf":
        raise CodecError("point cloud array is not numeric", f"dtype {arr.dtype}")
    if arr.ndim != 2:
        raise CodecError("point cloud array must be 2-D", f"shape {arr.shape}")
    if arr.shape[1] not in (3, 6) and arr.shape[0] in (3, 6):
        arr = arr.T  # [6, N] tensors as OneLLM's IT files store them
    if arr.shape[1] not in (3, 6):
        raise CodecError("point cloud must have 3 (xyz) or 6 (xyz+rgb) columns", f"shape {arr.shape}")
    return arr.astype(np.float64)


def _npz_column(z: Any, names: tuple[str, ...]) -> np.ndarray | None:
    lower = {k.lower(): k for k in z.files}
    found = [lower.get(n) for n in names]
    if any(f is None for f in found):
        return None
    return np.stack([np.asarray(z[f], dtype=np.float64).reshape(-1) for f in found], axis=1)


def _from_npz(z: Any) -> np.ndarray:
    """Separate x/y/z (+ r/g/b or red/green/blue) arrays, xyz + rgb arrays, or a single [N, 3|6] array."""
    lower = {k.lower(): k for k in z.files}
    xyz = _npz_column(z, NPZ_AXES)
    rgb = next((c for names in NPZ_COLOURS if (c := _npz_column(z, names)) is not None), None)
    if xyz is None:
        key = next((lower[n] for n in NPZ_XYZ if n in lower), None)
        if key is None:
            if len(z.files) == 1:
                return _from_array(z[z.files[0]])
            raise CodecError("npz point cloud layout not understood", f"arrays {sorted(z.files)}")
        xyz = _from_array(z[key])
        colour_key = next((lower[n] for n in NPZ_RGB if n in lower), None)
        if xyz.shape[1] == 3 and colour_key is not None:
            rgb = np.asarray(z[colour_key], dtype=np.float64).reshape(len(xyz), -1)[:, :3]
    if rgb is None:
        return xyz
    if len(rgb) != len(xyz):
        raise CodecError("npz colours and points differ in length", f"{len(rgb)} vs {len(xyz)}")
    return np.concatenate([xyz[:, :3], rgb], axis=1)


def _open3d_read(path: Path, ext: str) -> tuple[np.ndarray, bool]:
    """(points, was a mesh). A mesh is sampled on its surface; a cloud, or a mesh without faces, gives its
    points."""
    from onellm_data.codecs.point_mesh import mesh_vertices, read_mesh, sample_surface

    if ext in MESH_EXTS or ext == "ply":
        mesh = read_mesh(path, ext)
        if len(mesh.triangles) > 0:
            return sample_surface(mesh), True
        if ext in MESH_EXTS:
            if len(mesh.vertices) == 0:
                raise CodecError("point cloud has no points", path.name)
            return mesh_vertices(mesh), False
    import open3d as o3d

    cloud = o3d.io.read_point_cloud(str(path))
    xyz = np.asarray(cloud.points, dtype=np.float64)
    if len(xyz) == 0:
        raise CodecError("point cloud has no points", path.name)
    if cloud.has_colors():
        return np.concatenate([xyz, np.asarray(cloud.colors, dtype=np.float64)], axis=1), False
    return xyz, False


def load_points(src: Path | np.ndarray | str) -> np.ndarray:
    """[N, 3] or [N, 6] float64 from any supported source."""
    if isinstance(src, np.ndarray):
        return _from_array(src)
    path = Path(src)
    if not path.is_file():
        raise CodecError("missing media file", str(path))
    ext = path.suffix.lower().lstrip(".")
    try:
        if ext == "npy":
            return _from_array(np.load(path, allow_pickle=False))
        if ext == "npz":
            with np.load(path, allow_pickle=False) as z:
                return _from_npz(z)
        if ext == "pt":
            return _from_array(torch.load(path, map_location="cpu", weights_only=True).numpy())
        if ext in CLOUD_EXTS or ext in MESH_EXTS:
            return _open3d_read(path, ext)[0]
    except CodecError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is an undecodable file
        raise CodecError("undecodable point cloud", f"{path.name}: {exc_detail(exc)}") from exc
    raise CodecError("unsupported point cloud format", ext)


def _unit_colours(rgb: np.ndarray) -> np.ndarray:
    """rgb in [0, 1] by the smallest of the known ranges that holds the values (see the module docstring)."""
    with np.errstate(over="ignore"):  # an overflow is the inf checked next
        rgb32 = rgb.astype(np.float32)
    if not np.isfinite(rgb32).all():
        raise CodecError("point colours are not finite", "after the cast to float32")
    low, top = float(rgb32.min()), float(rgb32.max())
    if low < 0:
        raise CodecError("point colours are negative", f"min {low:.6g}")
    scale = next((r for r in COLOUR_RANGES if top <= r), None)
    if scale is None:
        raise CodecError("point colours out of range", f"max {top:.6g} (expected [0, 1], 8-bit or 16-bit)")
    return (rgb32 / np.float32(scale)) if scale != 1.0 else rgb32


def normalise_points(points: np.ndarray, num_points: int = NUM_POINTS) -> tuple[np.ndarray, dict[str, Any]]:
    n = points.shape[0]
    if n == 0:
        raise CodecError("point cloud has no points")
    with np.errstate(over="ignore"):
        xyz = points[:, :3].astype(np.float32)
    if not np.isfinite(xyz).all():
        raise CodecError("point cloud has non-finite values", "after the cast to float32")
    if n < MIN_POINTS:  # the point tokenizer groups each centre with its 32 nearest neighbours
        raise CodecError("point cloud has fewer than 32 points", f"{n} points")
    has_color = points.shape[1] == 6
    rgb = _unit_colours(points[:, 3:6]) if has_color else np.zeros((n, 3), dtype=np.float32)
    full = np.concatenate([xyz, rgb], axis=1)
    if n > num_points:
        full = full[fps_numpy(xyz, num_points)]
    elif n < num_points:
        full = full[np.arange(num_points) % n]
    return np.ascontiguousarray(full, dtype=np.float32), {"num_points": int(n), "has_color": bool(has_color)}


def to_npy(arr: np.ndarray) -> bytes:
    return npy_bytes(arr)


def prepare_point(src: Path | np.ndarray | str, num_points: int = NUM_POINTS) -> tuple[dict[str, bytes], dict[str, Any]]:
    cloud, meta = normalise_points(load_points(src), num_points)
    members = {"npy": to_npy(cloud)}
    x = decode_point(members["npy"])
    if not torch.isfinite(x).all():  # the loader's own arithmetic (pc_norm) must stay finite
        raise CodecError("point cloud is not finite after pc_norm", "coordinates too large for float32")
    proven("point", members, x)  # the conversion check (codecs/check.py), done with this decode
    return members, meta


def pc_norm(points: torch.Tensor) -> torch.Tensor:
    xyz = points[:, :3] - points[:, :3].mean(dim=0)
    radius = xyz.norm(dim=1).max().clamp_min(1e-12)
    return torch.cat([xyz / radius, points[:, 3:]], dim=1)


def decode_point(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    arr = read_npy(data, "point cloud")
    if arr.ndim != 2 or arr.shape[1] != 6:
        raise CodecError("point member must be [N, 6]", f"shape {arr.shape}")
    return pc_norm(torch.from_numpy(arr.astype(np.float32)))
