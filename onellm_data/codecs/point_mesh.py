"""Meshes (PLY with faces, OBJ, OFF, STL, GLB, glTF) as coloured point clouds, sampled on their surface.

Open3D reads the mesh (with its post-processing, so OBJ/glTF textures come with it); the sampling is ours:
area-weighted triangles and uniform barycentric points from a fixed-seed numpy generator, so the same file gives
the same bytes on every run and machine (Open3D's own sampler draws from a global, thread-dependent state).

Colour, per sampled point: the mesh's vertex colours interpolated; else its texture (Open3D stores UVs and
texture rows with v pointing up; nearest texel, UVs wrapped as glTF's default ``REPEAT``); triangles without a
texture in a textured mesh take the default material white. A mesh with neither has no colour."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onellm_data.errors import CodecError

SURFACE_SAMPLES = 2 * 8192  # FPS then keeps 8192 spread over the whole surface
SEED = 0
TEXTURED_EXTS = {"obj", "glb", "gltf"}  # formats whose textures Open3D loads with post-processing


@dataclass(frozen=True)
class MeshData:
    vertices: np.ndarray  # [V, 3] float64
    triangles: np.ndarray  # [T, 3] int64
    vertex_colors: np.ndarray | None  # [V, 3] in [0, 1]
    triangle_uvs: np.ndarray | None  # [T, 3, 2]
    material_ids: np.ndarray | None  # [T]
    textures: tuple[np.ndarray | None, ...]  # per material: [H, W, C] uint8, rows with v up; None if absent


def read_mesh(path: Path, ext: str) -> MeshData:
    import open3d as o3d

    mesh = o3d.io.read_triangle_mesh(str(path), ext in TEXTURED_EXTS)
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    triangles = np.asarray(mesh.triangles, dtype=np.int64).reshape(-1, 3)
    colors = np.asarray(mesh.vertex_colors, dtype=np.float64) if mesh.has_vertex_colors() else None
    uvs = np.asarray(mesh.triangle_uvs, dtype=np.float64)
    textures = tuple(np.asarray(t) if np.asarray(t).ndim == 3 else None for t in mesh.textures)
    has_uvs = len(triangles) > 0 and uvs.shape == (3 * len(triangles), 2) and any(t is not None for t in textures)
    ids = np.asarray(mesh.triangle_material_ids, dtype=np.int64)
    return MeshData(vertices, triangles, colors, uvs.reshape(-1, 3, 2) if has_uvs else None,
                    ids if has_uvs and len(ids) == len(triangles) else None, textures)


def _texture_colors(mesh: MeshData, tri: np.ndarray, bary: np.ndarray) -> np.ndarray:
    uv = np.einsum("nk,nkd->nd", bary, mesh.triangle_uvs[tri])
    uv = uv - np.floor(uv)  # REPEAT wrapping
    out = np.ones((len(tri), 3))  # no texture on this triangle: the default white material
    ids = mesh.material_ids[tri] if mesh.material_ids is not None else np.zeros(len(tri), dtype=np.int64)
    for mid in np.unique(ids):
        tex = mesh.textures[mid] if 0 <= mid < len(mesh.textures) else None
        if tex is None:
            continue
        sel = ids == mid
        h, w = tex.shape[:2]
        col = np.minimum((uv[sel, 0] * w).astype(np.int64), w - 1)
        row = np.minimum((uv[sel, 1] * h).astype(np.int64), h - 1)
        texel = tex[row, col].astype(np.float64)
        texel = np.repeat(texel, 3, axis=1) if texel.shape[1] == 1 else texel[:, :3]
        out[sel] = texel / (65535.0 if tex.dtype == np.uint16 else 255.0 if tex.dtype == np.uint8 else 1.0)
    return out


def sample_surface(mesh: MeshData, count: int = SURFACE_SAMPLES, seed: int = SEED) -> np.ndarray:
    """[count, 3] xyz, or [count, 6] with rgb in [0, 1] when the mesh has colours; reproducible for a seed."""
    corners = mesh.vertices[mesh.triangles]  # [T, 3, 3]
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    total = float(area.sum())
    if not np.isfinite(total) or total <= 0:
        raise CodecError("mesh has no surface area", f"{len(mesh.triangles)} triangles")
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(area)
    tri = np.minimum(np.searchsorted(cumulative, rng.random(count) * cumulative[-1], side="right"), len(area) - 1)
    r1, r2 = np.sqrt(rng.random(count)), rng.random(count)
    bary = np.stack([1.0 - r1, r1 * (1.0 - r2), r1 * r2], axis=1)  # uniform over each triangle
    xyz = np.einsum("nk,nkd->nd", bary, corners[tri])
    if mesh.vertex_colors is not None:
        rgb = np.einsum("nk,nkd->nd", bary, mesh.vertex_colors[mesh.triangles[tri]])
    elif mesh.triangle_uvs is not None:
        rgb = _texture_colors(mesh, tri, bary)
    else:
        return xyz
    return np.concatenate([xyz, rgb], axis=1)


def mesh_vertices(mesh: MeshData) -> np.ndarray:
    """A mesh without faces is a cloud of its vertices (with their colours if any)."""
    if mesh.vertex_colors is not None:
        return np.concatenate([mesh.vertices, mesh.vertex_colors], axis=1)
    return mesh.vertices
