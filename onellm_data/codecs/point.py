"""Point-cloud codec. Conversion reads .npy/.pt arrays, .ply/.pcd clouds and .obj/.off/.ply meshes (surface
sampled) and stores float32 [8192, 6] (xyz + rgb in [0, 1]) chosen by farthest point sampling. Rules: clouds with
more points are sampled by FPS on xyz (the tokenizer's FPS, :mod:`point_fps`); clouds with fewer are kept whole and padded by
cycling through their points; clouds without colour get rgb = 0 (``has_color`` False in the index).
Loading applies OneLLM's ``pc_norm`` (centre on the centroid, scale into the unit sphere; rgb unchanged)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from onellm_data.codecs._detail import exc_detail
from onellm_data.codecs.point_fps import fps_numpy
from onellm_data.errors import CodecError

NUM_POINTS = 8192
MIN_POINTS = 32
MESH_EXTS = {"obj", "off", "stl", "glb", "gltf"}


def _from_array(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise CodecError("point cloud array must be 2-D", f"shape {arr.shape}")
    if arr.shape[1] not in (3, 6) and arr.shape[0] in (3, 6):
        arr = arr.T  # [6, N] tensors as OneLLM's IT files store them
    if arr.shape[1] not in (3, 6):
        raise CodecError("point cloud must have 3 (xyz) or 6 (xyz+rgb) columns", f"shape {arr.shape}")
    return arr.astype(np.float64)


def _open3d_read(path: Path, ext: str) -> np.ndarray:
    """A mesh (a .ply with faces too) is sampled on its surface (2 × 8192 points, seeded, so reproducible; FPS
    then picks 8192); a cloud, or a mesh without faces, gives its points."""
    import open3d as o3d

    mesh = o3d.io.read_triangle_mesh(str(path)) if ext == "ply" or ext in MESH_EXTS else None
    if mesh is not None and len(mesh.triangles) > 0:
        o3d.utility.random.seed(0)  # surface sampling must be reproducible
        cloud = mesh.sample_points_uniformly(number_of_points=NUM_POINTS * 2)
    else:
        cloud = o3d.io.read_point_cloud(str(path)) if ext in ("ply", "pcd", "xyz", "pts") else None
        if cloud is None or len(cloud.points) == 0:
            if mesh is None or len(mesh.vertices) == 0:
                raise CodecError("point cloud has no points", str(path))
            cloud = o3d.geometry.PointCloud(mesh.vertices)
            if mesh.has_vertex_colors():
                cloud.colors = mesh.vertex_colors
    xyz = np.asarray(cloud.points, dtype=np.float64)
    if cloud.has_colors():
        return np.concatenate([xyz, np.asarray(cloud.colors, dtype=np.float64)], axis=1)
    return xyz


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
                return _from_array(z[z.files[0]])
        if ext == "pt":
            return _from_array(torch.load(path, map_location="cpu", weights_only=True).numpy())
        if ext in ("ply", "pcd", "xyz", "pts") or ext in MESH_EXTS:
            return _open3d_read(path, ext)
    except CodecError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is an undecodable file
        raise CodecError("undecodable point cloud", f"{path.name}: {exc_detail(exc)}") from exc
    raise CodecError("unsupported point cloud format", ext)


def normalise_points(points: np.ndarray, num_points: int = NUM_POINTS) -> tuple[np.ndarray, dict[str, Any]]:
    n = points.shape[0]
    if n == 0:
        raise CodecError("point cloud has no points")
    if not np.isfinite(points).all():
        raise CodecError("point cloud has non-finite values")
    if n < MIN_POINTS:  # the point tokenizer groups each centre with its 32 nearest neighbours
        raise CodecError("point cloud has fewer than 32 points", f"{n} points")
    has_color = points.shape[1] == 6
    rgb = points[:, 3:6] if has_color else np.zeros((n, 3))
    if has_color and rgb.max() > 1.0:
        rgb = rgb / 255.0  # 8-bit colours → [0, 1], PointLLM's range
    full = np.concatenate([points[:, :3], rgb], axis=1)
    if n > num_points:
        full = full[fps_numpy(full[:, :3], num_points)]
    elif n < num_points:
        full = full[np.arange(num_points) % n]
    return full.astype(np.float32), {"num_points": int(n), "has_color": bool(has_color)}


def to_npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def prepare_point(src: Path | np.ndarray | str, num_points: int = NUM_POINTS) -> tuple[dict[str, bytes], dict[str, Any]]:
    cloud, meta = normalise_points(load_points(src), num_points)
    return {"npy": to_npy(cloud)}, meta


def read_npy(data: bytes, what: str) -> np.ndarray:
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CodecError(f"undecodable {what} array", exc_detail(exc)) from exc


def pc_norm(points: torch.Tensor) -> torch.Tensor:
    xyz = points[:, :3] - points[:, :3].mean(dim=0)
    radius = xyz.norm(dim=1).max().clamp_min(1e-12)
    return torch.cat([xyz / radius, points[:, 3:]], dim=1)


def decode_point(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    arr = read_npy(data, "point cloud")
    if arr.ndim != 2 or arr.shape[1] != 6:
        raise CodecError("point member must be [N, 6]", f"shape {arr.shape}")
    return pc_norm(torch.from_numpy(arr.astype(np.float32)))
