"""Farthest-point sampling with pointnet2's CUDA kernel rules: the literal step-by-step reference (per-thread
maxima, then the shared-memory tree, in numpy) against the fast paths (numpy in the kernel's tie order on CPU;
batched torch, on CUDA when there is one), in the same run, with a check that all give the same indices.

Cases: the point tokenizer (1024 centres of the [8192, 6] cloud's RGB columns, 8-bit colours, so many ties;
batch 1 and 8) and conversion (8192 of 16,384 surface samples, xyz).

    python benchmarks/bench_point_fps.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from onellm_data.codecs.point_fps import farthest_point_sample, fps_kernel_reference, fps_numpy, fps_torch


def best(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cases() -> list[tuple[str, np.ndarray, int]]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 8192, 3)).astype(np.float32) / 255  # 8-bit colours, as real clouds
    xyz = rng.standard_normal((1, 16384, 3)).astype(np.float32)
    return [("tokenizer: 1024 of 8192 (RGB), batch 1", rgb[:1], 1024),
            ("tokenizer: 1024 of 8192 (RGB), batch 8", rgb, 1024),
            ("conversion: 8192 of 16,384 (xyz), batch 1", xyz, 8192)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(1)
    cuda = torch.cuda.is_available()
    print(f"\nseconds per call, best of {a.repeats}; one CPU thread{'; CUDA: ' + torch.cuda.get_device_name() if cuda else ''}\n")
    head = "| case | reference (literal kernel) | fast numpy (CPU) | ratio | torch CPU | ratio |"
    print(head + (" torch CUDA | ratio |" if cuda else "") + " same indices |")
    print("|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if cuda else "") + "---|")
    for name, pts, k in cases():
        ref = np.stack([fps_kernel_reference(row, k) for row in pts])
        t_ref = best(lambda: [fps_kernel_reference(row, k) for row in pts], a.repeats)
        t_np = best(lambda: [fps_numpy(row, k) for row in pts], a.repeats)
        tensor = torch.from_numpy(pts)
        t_torch = best(lambda: fps_torch(tensor, k), a.repeats)
        same = np.array_equal(farthest_point_sample(tensor, k).numpy(), ref)
        same &= np.array_equal(fps_torch(tensor, k).numpy(), ref)
        row = f"| {name} | {t_ref:.3f} | {t_np:.3f} | {t_ref / t_np:.1f}x | {t_torch:.3f} | {t_ref / t_torch:.1f}x |"
        if cuda:
            gpu = tensor.cuda()

            def on_gpu() -> None:
                fps_torch(gpu, k)
                torch.cuda.synchronize()

            t_gpu = best(on_gpu, a.repeats)
            same &= np.array_equal(fps_torch(gpu, k).cpu().numpy(), ref)
            row += f" {t_gpu:.3f} | {t_ref / t_gpu:.1f}x |"
        print(row + f" {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
