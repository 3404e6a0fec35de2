"""Tiny raw trees of the point, depth, normal, IMU and fMRI sources in their official layouts.

Real formats throughout: ``np.save`` point clouds, 16-bit depth PNGs and RGB normal PNGs beside COCO JPEGs,
Ego4D IMU CSVs and ``narration.json``, MindEye's NSD webdataset tars, NIfTI betas written with nibabel. Each tree
holds a few good items and a couple of bad ones (missing media, malformed rows, unknown references), so a
conversion shows both samples and rejects. Everything is seeded: the same bytes on every machine.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

VOXELS = 15724
HZ = 200


def _jpeg(rng: np.random.Generator, size: tuple[int, int] = (64, 48)) -> bytes:
    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _save_map(path: Path, kind: str, rng: np.random.Generator, size: tuple[int, int] = (64, 48)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "depth":  # millimetres in 16 bits, as depth models and sensors write them
        arr = rng.integers(300, 9000, (size[1], size[0]), dtype=np.uint16)
        Image.fromarray(arr).save(path)  # uint16 array → 16-bit greyscale PNG
    else:  # unit normals mapped to RGB
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def _cloud(rng: np.random.Generator) -> np.ndarray:
    xyz = rng.normal(size=(8192, 3))
    return np.concatenate([xyz, rng.random((8192, 3))], axis=1).astype(np.float32)


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


# ---- point -------------------------------------------------------------------------------------------------

OBJECTS = ("a1b2c3d4e5f6", "0f9e8d7c6b5a", "5e5e5e5e1234")
CAPTIONS = ("a red wooden chair with four legs", "a small blue teapot, with a curved spout", "a grey stone statue")


def _objaverse(target: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    (target / "objaverse_data").mkdir(parents=True, exist_ok=True)
    for uid in OBJECTS:
        np.save(target / "objaverse_data" / f"{uid}_8192.npy", _cloud(rng))
    np.save(target / "objaverse_data" / "broken0000_8192.npy", rng.random((8192, 4)))  # wrong width: codec reject


def pointllm_instruct(target: Path) -> None:
    _objaverse(target, 1)
    items = []
    for uid, caption in zip(OBJECTS, CAPTIONS):
        items.append({"object_id": uid, "conversation_type": "detailed_description", "conversations": [
            {"from": "human", "value": "<point>\nOffer a detailed description of this point cloud."},
            {"from": "gpt", "value": f"This is {caption}."}]})
        items.append({"object_id": uid, "conversation_type": "multi_round", "conversations": [
            {"from": "human", "value": "<point>\nWhat is it?"}, {"from": "gpt", "value": caption},
            {"from": "human", "value": "What could it be used for?"}, {"from": "gpt", "value": "Decoration."}]})
    items.append({"object_id": "missing00000", "conversation_type": "single_round", "conversations": [
        {"from": "human", "value": "<point>\nWhat is it?"}, {"from": "gpt", "value": "Unknown."}]})
    items.append({"object_id": OBJECTS[0], "conversation_type": "single_round", "conversations": [
        {"from": "gpt", "value": "<point>\nOut of order."}, {"from": "human", "value": "Yes."}]})
    items.append({"object_id": "broken0000", "conversation_type": "single_round", "conversations": [
        {"from": "human", "value": "<point>\nWhat is it?"}, {"from": "gpt", "value": "Broken."}]})
    items.append({"conversation_type": "single_round"})  # no object_id
    _write_json(target / "anno_data" / "PointLLM_complex_instruction_70K.json", items)


def cap3d(target: Path) -> None:
    _objaverse(target, 2)
    rows = [*zip(OBJECTS, CAPTIONS), ("missing00000", "a lamp"), (OBJECTS[0], "duplicate of the chair"),
            ("broken0000", "broken cloud")]
    with open(target / "Cap3D_automated_Objaverse.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerows(rows)
        fh.write("onlyonecolumn\n")
        writer.writerow(["e0e0e0e0e0e0", "  "])


# ---- depth / normal ---------------------------------------------------------------------------------------

COCO_IDS = ("000000033471", "000000052846", "000000334872", "000000319154")


def _llava(target: Path, kind: str) -> None:
    rng = np.random.default_rng(3)
    images = target / "coco" / "train2017"
    images.mkdir(parents=True, exist_ok=True)
    for cid in COCO_IDS:
        (images / f"{cid}.jpg").write_bytes(_jpeg(rng))
        if cid != COCO_IDS[-1]:  # the last image has no map: a reject
            _save_map(target / kind / f"{cid}.png", kind, rng)
    items = []
    for i, cid in enumerate(COCO_IDS):
        items.append({"id": cid, "image": f"{cid}.jpg", "conversations": [
            {"from": "human", "value": "What is in the image?\n<image>" if i % 2 else "<image>\nWhat is in the image?"},
            {"from": "gpt", "value": f"Scene number {i}."}]})
    items.append({"id": COCO_IDS[0], "image": f"{COCO_IDS[0]}.jpg", "conversations": [  # LLaVA repeats image ids
        {"from": "human", "value": "<image>\nDescribe the colours."}, {"from": "gpt", "value": "Mostly noise."},
        {"from": "human", "value": "Anything else?"}, {"from": "gpt", "value": "No."}]})
    items.append({"id": COCO_IDS[1], "image": f"{COCO_IDS[1]}.jpg", "conversations": [
        {"from": "human", "value": "<image>\nHi"}, {"from": "human", "value": "again"}]})
    items.append({"id": "000000000999", "conversations": []})
    _write_json(target / "llava_instruct_150k.json", items)


def llava_depth(target: Path) -> None:
    _llava(target, "depth")


def llava_normal(target: Path) -> None:
    _llava(target, "normal")


def _cc3m(target: Path, kind: str) -> None:
    rng = np.random.default_rng(4)
    captions = ["a dog runs on the beach", "city skyline at night", "a bowl of fruit", "", "a red car"]
    for i, caption in enumerate(captions):
        stem = target / "cc3m" / "00000" / f"{i:09d}"
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".jpg").write_bytes(_jpeg(rng))
        stem.with_suffix(".txt").write_text(caption)
        _write_json(stem.with_suffix(".json"), {"caption": caption, "key": f"{i:09d}", "status": "success"})
        if i != 4:  # the red car has no map
            _save_map(target / f"cc3m_{kind}" / "00000" / f"{i:09d}.png", kind, rng)


def cc3m_depth(target: Path) -> None:
    _cc3m(target, "depth")


def cc3m_normal(target: Path) -> None:
    _cc3m(target, "normal")


# ---- IMU ----------------------------------------------------------------------------------------------------

VIDEOS = ("1a2b3c4d-0000-4000-8000-000000000001", "1a2b3c4d-0000-4000-8000-000000000002")
IMU_COLUMNS = ("component_idx", "component_type", "component_timestamp_ms", "canonical_timestamp_ms",
               "gyro_x", "gyro_y", "gyro_z", "accl_x", "accl_y", "accl_z")


def _imu_csv(path: Path, seconds: float, rng: np.random.Generator) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(seconds * HZ)
    t = np.arange(n) * (1000.0 / HZ)
    signal = np.round(rng.normal(size=(n, 6)), 5)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(IMU_COLUMNS)
        for i in range(n):
            writer.writerow([0, "imu", f"{t[i]:.3f}", f"{t[i]:.3f}", *signal[i]])


def _narrations(texts: list[tuple[float, str]]) -> dict:
    return {"narration_pass_1": {"narrations": [
        {"timestamp_sec": ts, "timestamp_frame": int(ts * 30), "narration_text": text,
         "annotation_uid": "9f8e7d6c-0000-4000-8000-00000000aaaa"} for ts, text in texts], "summaries": []}}


def _ego4d(target: Path) -> None:
    rng = np.random.default_rng(5)
    _imu_csv(target / "v2" / "imu" / f"{VIDEOS[0]}.csv", 12.0, rng)
    annotations = {
        VIDEOS[0]: _narrations([(1.2, "#C C picks up a cup."), (5.5, "#C C walks to the #unsure"),
                                (7.0, "#O man opens the door"), (11.8, "#C C puts the cup down!"),
                                (8.0, "#C C ")]),
        VIDEOS[1]: _narrations([(3.0, "#C C opens the fridge")]),  # no IMU recording: a reject
    }
    annotations[VIDEOS[0]]["narration_pass_1"]["narrations"].append({"timestamp_sec": 2.0})  # no text
    _write_json(target / "v2" / "annotations" / "narration.json", annotations)


def ego4d_imu(target: Path) -> None:
    _ego4d(target)


def ego4d_imu_align(target: Path) -> None:
    _ego4d(target)


# ---- fMRI ---------------------------------------------------------------------------------------------------

NSD_CAPTIONS = [
    ["A giraffe standing next to a tree.", "A tall giraffe in a field.", "", "", ""],
    ["A man riding a wave on a surfboard.", "Surfer on a wave.", "", "", ""],
    ["Two plates of food on a table.", "", "", "", ""],
    ["A bus parked on a street.", "A red bus.", "", "", ""],
    ["A cat sleeping on a sofa.", "", "", "", ""],
]


def _annots(target: Path) -> None:
    np.save(target / "COCO_73k_annots_curated.npy", np.array(NSD_CAPTIONS))  # official: [73000, 5] unicode


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def nsd_fmri(target: Path) -> None:
    """MindEye's webdataset: a train tar, an extracted val folder, a test tar (excluded by default)."""
    rng = np.random.default_rng(6)
    _annots(target)
    root = target / "webdataset_avg_split"
    samples = {"train": [(12, 0), (13, 1), (14, 2), (15, 73000)], "val": [(20, 3)], "test": [(30, 4)]}
    for split, items in samples.items():
        if split == "val":
            folder = root / split / f"{split}_subj01_0"
            folder.mkdir(parents=True, exist_ok=True)
            for n, coco in items:
                np.save(folder / f"sample{n:09d}.nsdgeneral.npy", rng.normal(size=(3, VOXELS)).astype(np.float16))
                np.save(folder / f"sample{n:09d}.coco73k.npy", np.array([coco]))
            continue
        (root / split).mkdir(parents=True, exist_ok=True)
        with tarfile.open(root / split / f"{split}_subj01_0.tar", "w", format=tarfile.USTAR_FORMAT) as tar:
            for n, coco in items:
                key = f"sample{n:09d}"
                _tar_add(tar, f"{key}.nsdgeneral.npy", _npy(rng.normal(size=(3, VOXELS)).astype(np.float16)))
                _tar_add(tar, f"{key}.coco73k.npy", _npy(np.array([coco])))
                _tar_add(tar, f"{key}.jpg", _jpeg(rng))
            if split == "train":
                _tar_add(tar, "sample000000099.nsdgeneral.npy", b"not an npy")  # corrupt voxels: a reject
                _tar_add(tar, "sample000000099.coco73k.npy", _npy(np.array([1])))


def nsd_fmri_align(target: Path) -> None:
    """NSD's own release: NIfTI betas of two sessions, the nsdgeneral mask, the stimulus info CSV."""
    import nibabel as nib

    rng = np.random.default_rng(7)
    _annots(target)
    shape = (30, 30, 20)  # 18000 voxels, of which the first 15724 form the nsdgeneral ROI
    mask = np.zeros(int(np.prod(shape)), dtype=np.int16)
    mask[:VOXELS] = 1
    affine = np.diag([1.8, 1.8, 1.8, 1.0])
    roi = target / "nsddata/ppdata/subj01/func1pt8mm/roi/nsdgeneral.nii.gz"
    roi.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(mask.reshape(shape), affine), roi)
    betas = target / "nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR"
    betas.mkdir(parents=True, exist_ok=True)
    # Session 1 holds trials 1-6; session 2 is absent (the dataset withholds sessions): its trials are rejects.
    nib.save(nib.Nifti1Image(rng.integers(-3000, 3000, (*shape, 6)).astype(np.int16), affine),
             betas / "betas_session01.nii.gz")
    info = target / "nsddata/experiments/nsd/nsd_stim_info_merged.csv"
    info.parent.mkdir(parents=True, exist_ok=True)
    rows = [  # nsdId, cocoId, shared1000, subject1, reps
        (0, 532481, False, 1, (1, 4, 6)), (1, 189, False, 1, (2, 5, 0)), (2, 25, True, 1, (3, 0, 0)),
        (3, 4411, False, 0, (0, 0, 0)), (4, 9999, False, 1, (751, 752, 753)), (73001, 1, False, 1, (1, 2, 3)),
    ]
    with open(info, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["", "cocoId", "cocoSplit", "nsdId", "shared1000", "subject1",
                         "subject1_rep0", "subject1_rep1", "subject1_rep2"])
        for i, (nsd_id, coco, shared, shown, reps) in enumerate(rows):
            writer.writerow([i, coco, "train2017", nsd_id, shared, shown, *reps])


SOURCES: dict[str, Callable[[Path], None]] = {
    "pointllm_instruct": pointllm_instruct,
    "cap3d": cap3d,
    "llava_depth": llava_depth,
    "llava_normal": llava_normal,
    "cc3m_depth": cc3m_depth,
    "cc3m_normal": cc3m_normal,
    "ego4d_imu": ego4d_imu,
    "ego4d_imu_align": ego4d_imu_align,
    "nsd_fmri": nsd_fmri,
    "nsd_fmri_align": nsd_fmri_align,
}
