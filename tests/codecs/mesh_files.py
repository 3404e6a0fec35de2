"""Real mesh files for the point-codec tests, written by hand from the format specs: glTF 2.0 (binary .glb with
embedded PNG texture, or .gltf + .bin + .png), Wavefront OBJ + MTL + texture, ASCII PLY with vertex colours."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
from PIL import Image

FLOAT, UINT32 = 5126, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963

# A unit square in the z = 0 plane, two triangles.
QUAD_V = np.array([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)], dtype=np.float32)
QUAD_F = np.array([(0, 1, 2), (0, 2, 3)], dtype=np.uint32)
# glTF UVs: (0, 0) is the image's top-left corner, so the image is seen upright from +z.
QUAD_UV_GLTF = np.array([(0, 1), (1, 1), (1, 0), (0, 0)], dtype=np.float32)
# Quadrant colours of the 4x4 texture, as seen on the square (keys: x high?, y high?).
RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
QUADRANTS = {(False, True): RED, (True, True): GREEN, (False, False): BLUE, (True, False): YELLOW}


def quadrant_texture() -> bytes:
    """4x4 PNG: top-left red, top-right green, bottom-left blue, bottom-right yellow."""
    tex = np.zeros((4, 4, 3), np.uint8)
    tex[:2, :2], tex[:2, 2:], tex[2:, :2], tex[2:, 2:] = RED, GREEN, BLUE, YELLOW
    buf = io.BytesIO()
    Image.fromarray(tex).save(buf, format="PNG")
    return buf.getvalue()


def _gltf_document(uvs: np.ndarray | None, colors: np.ndarray | None,
                   texture: bytes | None) -> tuple[dict, bytes]:
    """The glTF JSON and its single binary buffer (texture embedded through a bufferView)."""
    chunks: list[bytes] = []
    views: list[dict] = []
    accessors: list[dict] = []

    def view(data: bytes, target: int | None) -> int:
        entry = {"buffer": 0, "byteOffset": sum(len(c) for c in chunks), "byteLength": len(data)}
        if target:
            entry["target"] = target
        chunks.append(data + b"\0" * (-len(data) % 4))
        views.append(entry)
        return len(views) - 1

    def accessor(arr: np.ndarray, kind: str, component: int) -> int:
        target = ELEMENT_ARRAY_BUFFER if component == UINT32 else ARRAY_BUFFER
        entry = {"bufferView": view(arr.tobytes(), target), "componentType": component,
                 "count": int(arr.size if kind == "SCALAR" else arr.shape[0]), "type": kind}
        if kind == "VEC3" and arr is QUAD_V:
            entry["min"], entry["max"] = arr.min(0).tolist(), arr.max(0).tolist()
        accessors.append(entry)
        return len(accessors) - 1

    attributes = {"POSITION": accessor(QUAD_V, "VEC3", FLOAT)}
    if uvs is not None:
        attributes["TEXCOORD_0"] = accessor(uvs.astype(np.float32), "VEC2", FLOAT)
    if colors is not None:
        attributes["COLOR_0"] = accessor(colors.astype(np.float32), "VEC3", FLOAT)
    primitive = {"attributes": attributes, "indices": accessor(QUAD_F.reshape(-1), "SCALAR", UINT32), "mode": 4}
    doc: dict = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
                 "meshes": [{"primitives": [primitive]}], "accessors": accessors, "bufferViews": views}
    if texture is not None:
        doc["images"] = [{"bufferView": view(texture, None), "mimeType": "image/png"}]
        doc["samplers"] = [{"magFilter": 9728, "minFilter": 9728}]  # nearest
        doc["textures"] = [{"source": 0, "sampler": 0}]
        doc["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]
        primitive["material"] = 0
    binary = b"".join(chunks)
    doc["buffers"] = [{"byteLength": len(binary)}]
    return doc, binary


def write_glb(path: Path, uvs: np.ndarray | None = None, colors: np.ndarray | None = None,
              texture: bytes | None = None) -> Path:
    doc, binary = _gltf_document(uvs, colors, texture)
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    header = struct.pack("<III", 0x46546C67, 2, 12 + 8 + len(js) + 8 + len(binary))
    path.write_bytes(header + struct.pack("<II", len(js), 0x4E4F534A) + js
                     + struct.pack("<II", len(binary), 0x004E4942) + binary)
    return path


def write_gltf(path: Path, uvs: np.ndarray, texture: bytes) -> Path:
    """.gltf JSON + ``{stem}.bin`` + ``{stem}.png`` beside it, referenced by relative URIs."""
    doc, binary = _gltf_document(uvs, None, None)
    (path.parent / f"{path.stem}.bin").write_bytes(binary)
    (path.parent / f"{path.stem}.png").write_bytes(texture)
    doc["buffers"] = [{"byteLength": len(binary), "uri": f"{path.stem}.bin"}]
    doc["images"] = [{"uri": f"{path.stem}.png"}]
    doc["samplers"] = [{"magFilter": 9728, "minFilter": 9728}]
    doc["textures"] = [{"source": 0, "sampler": 0}]
    doc["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]
    doc["meshes"][0]["primitives"][0]["material"] = 0
    path.write_text(json.dumps(doc))
    return path


def write_textured_obj(path: Path, texture: bytes) -> Path:
    """OBJ + MTL (``map_Kd``) + PNG; OBJ UVs have (0, 0) at the image's bottom-left."""
    (path.parent / f"{path.stem}.png").write_bytes(texture)
    (path.parent / f"{path.stem}.mtl").write_text(f"newmtl skin\nKd 1 1 1\nmap_Kd {path.stem}.png\n")
    lines = [f"mtllib {path.stem}.mtl"] + [f"v {x:g} {y:g} {z:g}" for x, y, z in QUAD_V]
    lines += [f"vt {x:g} {y:g}" for x, y, _ in QUAD_V] + ["usemtl skin"]
    lines += [f"f {a + 1}/{a + 1} {b + 1}/{b + 1} {c + 1}/{c + 1}" for a, b, c in QUAD_F]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_coloured_ply(path: Path, colors: np.ndarray) -> Path:
    """ASCII PLY mesh with uchar vertex colours."""
    lines = ["ply", "format ascii 1.0", f"element vertex {len(QUAD_V)}", "property float x", "property float y",
             "property float z", "property uchar red", "property uchar green", "property uchar blue",
             f"element face {len(QUAD_F)}", "property list uchar int vertex_indices", "end_header"]
    lines += [f"{x:g} {y:g} {z:g} {r} {g} {b}" for (x, y, z), (r, g, b) in zip(QUAD_V, colors)]
    lines += [f"3 {a} {b} {c}" for a, b, c in QUAD_F]
    path.write_text("\n".join(lines) + "\n")
    return path
