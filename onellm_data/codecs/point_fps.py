"""Farthest-point sampling exactly as pointnet2's CUDA kernel (``furthest_point_sampling_kernel``), which the
released point tokenizer runs on the RGB columns of the [8192, 6] cloud.

The kernel's rules, all of which decide which centre wins when distances tie (8-bit colours tie all the time):

- start at index 0; distances are float32 ``min(previous, squared distance to the last pick)``, the previous
  ones starting at 1e10, the squared distance summed as ``dx*dx + dy*dy`` then ``+ dz*dz``;
- no point is skipped (the near-zero-magnitude check in the kernel source is commented out in OneLLM's copy);
- ``bs = min(2^floor(log2 N), 1024)`` threads; thread ``t`` scans k = t, t+bs, … and keeps its *first* strict
  maximum;
- a shared-memory tree reduction (slot i against slot i+s for s = bs/2, …, 1) keeps the lower slot on ties, so
  among tied threads the one with the smallest bit-reversed id wins.

:func:`fps_kernel_reference` follows those steps literally (per-thread maxima, then the tree) in numpy: the
readable reference. :func:`farthest_point_sample` is the fast path (numpy on CPU, batched torch on an accelerator): the winner of
the two stages is the point with the smallest (bit-reversed thread id, row) among the maxima, so it lays the
points out once in that order, after which a plain first-maximum ``argmax`` picks the kernel's winner.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

MAX_THREADS = 1024
INITIAL_DISTANCE = 1e10


def thread_count(n: int) -> int:
    """pointnet2's ``opt_n_threads``: the largest power of two ≤ n, at most 1024."""
    if n < 1:
        raise ValueError("no points")
    return max(min(1 << int(math.log(n) / math.log(2)), MAX_THREADS), 1)


def _bit_reverse(values: np.ndarray, bits: int) -> np.ndarray:
    out = np.zeros_like(values)
    for b in range(bits):
        out |= ((values >> b) & 1) << (bits - 1 - b)
    return out


@lru_cache(maxsize=8)
def _kernel_order(n: int) -> np.ndarray:
    """Point indices sorted by the kernel's tie priority: (bit-reversed thread id, row)."""
    bs = thread_count(n)
    k = np.arange(n, dtype=np.int64)
    key = _bit_reverse(k % bs, bs.bit_length() - 1) * (n // bs + 1) + k // bs
    order = np.argsort(key, kind="stable")
    order.flags.writeable = False
    return order


def _check(n: int, k: int) -> None:
    if not 0 < k <= n:
        raise ValueError(f"cannot choose {k} of {n} points")


def fps_kernel_reference(points: np.ndarray, k: int) -> np.ndarray:
    """int64 [k] indices into ``points`` [N, 3], computed step by step as the CUDA kernel does."""
    x = np.asarray(points, dtype=np.float32)
    n = x.shape[0]
    _check(n, k)
    bs = thread_count(n)
    rows = -(-n // bs)
    temp = np.full(n, INITIAL_DISTANCE, dtype=np.float32)
    grid = np.full(rows * bs, -np.inf, dtype=np.float32)  # slots past N belong to no point
    threads = np.arange(bs)
    out = np.zeros(k, dtype=np.int64)
    old = 0
    for j in range(1, k):
        d = (x[:, 0] - x[old, 0]) * (x[:, 0] - x[old, 0]) + (x[:, 1] - x[old, 1]) * (x[:, 1] - x[old, 1])
        d = d + (x[:, 2] - x[old, 2]) * (x[:, 2] - x[old, 2])
        np.minimum(d, temp, out=temp)
        grid[:n] = temp
        by_thread = grid.reshape(rows, bs)
        first = by_thread.argmax(axis=0)  # each thread's first strict maximum
        best, besti = by_thread[first, threads], first * bs + threads
        s = bs // 2
        while s >= 1:  # the shared-memory tree: slot i takes slot i+s only when strictly greater
            upper = best[s:2 * s] > best[:s]
            besti = np.where(upper, besti[s:2 * s], besti[:s])
            best = np.maximum(best[:s], best[s:2 * s])
            s //= 2
        old = int(besti[0])
        out[j] = old
    return out


def fps_numpy(points: np.ndarray, k: int) -> np.ndarray:
    """The fast path on CPU: int64 [k] indices into ``points`` [N, 3], the kernel's choice, one point per step
    in the kernel's tie order (numpy into preallocated float32 buffers: fewer passes than the reference)."""
    n = points.shape[0]
    _check(n, k)
    order = _kernel_order(n)
    cols = [np.ascontiguousarray(points[order, c], dtype=np.float32) for c in range(3)]
    dist = np.full(n, INITIAL_DISTANCE, dtype=np.float32)
    d, t = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)
    picked = np.empty(k, dtype=np.int64)
    current = int(np.flatnonzero(order == 0)[0])
    for i in range(k):
        picked[i] = current
        if i == k - 1:
            break
        np.subtract(cols[0], cols[0][current], out=d)
        np.multiply(d, d, out=d)
        for c in cols[1:]:
            np.subtract(c, c[current], out=t)
            np.multiply(t, t, out=t)
            np.add(d, t, out=d)
        np.minimum(dist, d, out=dist)
        current = int(dist.argmax())  # the first maximum in tie order is the kernel's winner
    return order[picked]


def fps_torch(points: torch.Tensor, k: int) -> torch.Tensor:
    """The fast path on an accelerator: int64 (B, k) indices for (B, N, 3) points, batched, on their device.
    The same float32 operations in the same order as :func:`fps_numpy`, so the same indices."""
    b, n, _ = points.shape
    _check(n, k)
    device = points.device
    order = torch.from_numpy(_kernel_order(n).copy()).to(device)
    cols = [points[:, order, c].to(torch.float32).contiguous() for c in range(3)]  # (B, N) each, in tie order
    dist = torch.full((b, n), INITIAL_DISTANCE, dtype=torch.float32, device=device)
    d, t = torch.empty_like(dist), torch.empty_like(dist)
    picked = torch.empty(b, k, dtype=torch.long, device=device)
    current = torch.full((b, 1), int(np.flatnonzero(_kernel_order(n) == 0)[0]), dtype=torch.long, device=device)
    for i in range(k):
        picked[:, i:i + 1] = current
        if i == k - 1:
            break
        torch.sub(cols[0], cols[0].gather(1, current), out=d)
        torch.mul(d, d, out=d)
        for c in cols[1:]:
            torch.sub(c, c.gather(1, current), out=t)
            torch.mul(t, t, out=t)
            d.add_(t)
        torch.minimum(dist, d, out=dist)
        current = dist.argmax(dim=1, keepdim=True)
    return order[picked]


def farthest_point_sample(points: torch.Tensor, k: int) -> torch.Tensor:
    """int64 indices (B, k) for (B, N, 3) points, the kernel's choice, on the points' device: numpy row by row
    on CPU (per-op overhead makes torch about 3x slower there), batched torch elsewhere."""
    if points.device.type != "cpu":
        return fps_torch(points, k)
    rows = points.detach().to(torch.float32).numpy()
    return torch.from_numpy(np.stack([fps_numpy(row, k) for row in rows]))
