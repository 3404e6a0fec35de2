"""Farthest-point sampling with pointnet2's CUDA kernel rules: hand-built ties that only the kernel's tie rules
decide, the literal reference against both fast paths on clouds full of ties, and the point tokenizer using it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from onellm_data.codecs.point_fps import (
    farthest_point_sample, fps_kernel_reference, fps_numpy, fps_torch, thread_count,
)


def brute_force_fps(xyz: np.ndarray, k: int) -> list[int]:
    """Greedy farthest points from index 0 with the full float64 distance matrix (ties: lowest index)."""
    d = ((xyz[:, None, :] - xyz[None, :, :]) ** 2).sum(-1)
    chosen = [0]
    while len(chosen) < k:
        chosen.append(int(np.argmax(d[:, chosen].min(axis=1))))
    return chosen


def all_paths(points: np.ndarray, k: int) -> list[list[int]]:
    pts = torch.from_numpy(np.asarray(points, dtype=np.float32))
    return [fps_kernel_reference(points, k).tolist(), fps_numpy(points, k).tolist(),
            fps_torch(pts[None], k)[0].tolist(), farthest_point_sample(pts[None], k)[0].tolist()]


@pytest.mark.parametrize("n,expected", [(1, 1), (2, 2), (3, 2), (100, 64), (1024, 1024), (8192, 1024), (3000, 1024)])
def test_thread_count_is_pointnet2s(n: int, expected: int) -> None:
    assert thread_count(n) == expected


def test_tied_threads_resolve_by_bit_reversed_thread_id() -> None:
    """8 points, 8 threads: points 1 and 4 are equally far from point 0. Thread 4's bit-reversed id (001) is below
    thread 1's (100), so the tree reduction hands 4 up first; a lowest-index rule would pick 1."""
    pts = np.zeros((8, 3), dtype=np.float32)
    pts[1], pts[4] = (1, 0, 0), (0, 1, 0)
    pts[[2, 3, 5, 6, 7]] = 0.1
    for path in all_paths(pts, 2):
        assert path == [0, 4]


def test_a_thread_keeps_its_first_strict_maximum() -> None:
    """12 points, 8 threads: thread 2 scans points 2 and 10, thread 1 scans 1 and 9. Points 2 and 10 tie: thread 2
    keeps 2. Points 9 and 3 tie at a larger distance: thread 1 (bit-reversed 100) beats thread 3 (110), so 9."""
    pts = np.full((12, 3), 0.05, dtype=np.float32)
    pts[0] = 0
    pts[2], pts[10] = (0.5, 0, 0), (0, 0.5, 0)
    pts[3], pts[9] = (0, 0, 1), (1, 0, 0)
    for path in all_paths(pts, 3):
        assert path[:2] == [0, 9]
    pts[3], pts[9] = 0.05, 0.05
    for path in all_paths(pts, 2):
        assert path == [0, 2]


def test_black_points_are_not_skipped() -> None:
    pts = np.array([[1.0, 1, 1], [0, 0, 0], [0.5, 0.5, 0.5], [0.9, 1, 1]], dtype=np.float32)
    for path in all_paths(pts, 3):
        assert path == [0, 1, 2]


@pytest.mark.parametrize("n,k,seed", [(8192, 256, 0), (3000, 200, 1), (100, 100, 2), (777, 64, 3)])
def test_fast_paths_equal_the_literal_kernel_on_8bit_colours(n: int, k: int, seed: int) -> None:
    """8-bit colours on a 16-level grid: thousands of exact ties at every step."""
    rgb = np.random.default_rng(seed).integers(0, 16, (n, 3)).astype(np.float32) * 17 / 255
    paths = all_paths(rgb, k)
    assert paths[0][0] == 0
    for path in paths[1:]:
        assert path == paths[0]


def test_without_ties_it_is_plain_farthest_point_sampling() -> None:
    xyz = np.random.default_rng(4).standard_normal((300, 3))
    for path in all_paths(xyz, 40):
        assert path == brute_force_fps(xyz, 40)


def test_batched_rows_are_independent() -> None:
    pts = torch.rand(3, 500, 3, generator=torch.Generator().manual_seed(5))
    batch = farthest_point_sample(pts, 50)
    assert batch.shape == (3, 50) and batch.dtype == torch.long
    for row in range(3):
        assert batch[row].tolist() == fps_kernel_reference(pts[row].numpy(), 50).tolist()
    assert torch.equal(fps_torch(pts, 50), batch)


def test_impossible_counts_are_errors() -> None:
    with pytest.raises(ValueError, match="cannot choose 5 of 4 points"):
        fps_numpy(np.zeros((4, 3)), 5)
    with pytest.raises(ValueError):
        farthest_point_sample(torch.zeros(1, 4, 3), 0)


def test_point_tokenizer_groups_around_the_kernels_centres() -> None:
    """The model's FPS is this one, on the RGB columns."""
    from model import modality_tokenizers

    assert modality_tokenizers.farthest_point_sample is farthest_point_sample


def test_numpy_on_cpu_and_batched_torch_on_any_other_device(monkeypatch: pytest.MonkeyPatch) -> None:
    from onellm_data.codecs import point_fps

    calls = []
    monkeypatch.setattr(point_fps, "fps_torch", lambda points, k: calls.append(points.device.type) or "torch")
    pts = torch.rand(2, 64, 3, generator=torch.Generator().manual_seed(6))
    assert point_fps.farthest_point_sample(pts, 8).shape == (2, 8) and calls == []
    assert point_fps.farthest_point_sample(pts.to("meta"), 8) == "torch" and calls == ["meta"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_path_picks_the_kernels_centres() -> None:
    rgb = np.random.default_rng(7).integers(0, 16, (2, 8192, 3)).astype(np.float32) * 17 / 255
    got = farthest_point_sample(torch.from_numpy(rgb).cuda(), 1024)
    assert got.device.type == "cuda"
    for row in range(2):
        assert got[row].cpu().tolist() == fps_kernel_reference(rgb[row], 1024).tolist()
