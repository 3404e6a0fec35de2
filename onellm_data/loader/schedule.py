"""The global batch schedule: which lane each global batch comes from and which stream positions it takes.

Pure and cheap (no data touched): every rank and every DataLoader worker runs the same schedule and keeps only the
batches it owns, so they agree without talking. Randomness is counter-based (a hash of seed and batch number), so
the whole position is a handful of integers: the state dict never holds an RNG blob or sample bytes, and a restore
at step 10 or 10 million costs the same.

- ``weighted``: each global batch picks lane ``l`` with probability ∝ weight_l / batch_l (sample shares follow the
  weights); endless.
- ``epoch``: lane ``l`` contributes exactly ``round(size_l × repeats_l)`` samples per epoch, in global batches of
  ``batch_l × world_size`` (the last one smaller, or dropped with ``drop_last``); each batch's lane is drawn with
  probability ∝ its batches left, so batches of all lanes are spread evenly through the epoch.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any


def uniform(seed: int, counter: int) -> float:
    """A uniform number in [0, 1) from (seed, counter); stable across Python, numpy and torch versions."""
    digest = hashlib.blake2b(f"{seed}:{counter}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "little") >> 11) / 2.0**53  # 53 bits: exactly representable, never 1.0


@dataclass(frozen=True)
class LaneSpec:
    size: int  # samples in the lane
    weight: float  # requested sample share (any scale)
    repeats: float
    batch: int  # per-rank batch size


@dataclass
class ScheduleState:
    batch: int = 0  # global batches issued so far
    epoch: int = 0  # loader epochs completed (epoch mode)
    cursors: list[int] = field(default_factory=list)  # samples consumed from each lane's stream
    left: list[int] = field(default_factory=list)  # epoch mode: samples left in this epoch per lane

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "epoch": self.epoch, "cursors": list(self.cursors), "left": list(self.left)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ScheduleState":
        return cls(int(d["batch"]), int(d["epoch"]), [int(c) for c in d["cursors"]], [int(c) for c in d["left"]])


@dataclass(frozen=True)
class GlobalBatch:
    number: int  # global batch number
    lane: int
    start: int  # first stream position of the global batch
    count: int  # samples in the global batch (all ranks)

    def rank_slice(self, rank: int, world_size: int) -> tuple[int, int]:
        """Contiguous, near-equal slices: full batches give every rank exactly its batch size."""
        base, extra = divmod(self.count, world_size)
        start = self.start + rank * base + min(rank, extra)
        return start, start + base + (1 if rank < extra else 0)


class Schedule:
    def __init__(self, lanes: list[LaneSpec], mode: str, world_size: int, seed: int, drop_last: bool = False,
                 state: ScheduleState | None = None) -> None:
        if not lanes:
            raise ValueError("no lanes to schedule")
        self.lanes, self.mode, self.world, self.seed, self.drop_last = lanes, mode, world_size, seed, drop_last
        self.state = state or ScheduleState(cursors=[0] * len(lanes))
        if mode == "weighted":
            rates = [lane.weight / lane.batch for lane in lanes]
            total = sum(rates)
            if total <= 0:
                raise ValueError("all lane weights are zero")
            self._cdf = [sum(rates[: i + 1]) / total for i in range(len(rates))]
        elif mode == "epoch":
            if not self.state.left:  # a fresh start (a restored state keeps its own, even if all zero)
                self.state.left = self._epoch_sizes()
        else:
            raise ValueError(f"unknown sampling mode {mode!r}")

    def _epoch_sizes(self) -> list[int]:
        sizes = []
        for lane in self.lanes:
            n = int(round(lane.size * lane.repeats))
            if self.drop_last:
                n -= n % (lane.batch * self.world)
            sizes.append(n)
        return sizes

    def _batches_left(self, lane: int) -> int:
        return math.ceil(self.state.left[lane] / (self.lanes[lane].batch * self.world))

    def epoch_length(self) -> int:
        """Global batches in a full epoch (epoch mode)."""
        return sum(math.ceil(n / (lane.batch * self.world)) for n, lane in zip(self._epoch_sizes(), self.lanes))

    def next(self) -> GlobalBatch | None:
        """The next global batch, or None at the end of an epoch (epoch mode; the state then starts the next)."""
        st = self.state
        u = uniform(self.seed, st.batch)
        if self.mode == "weighted":
            lane = min(bisect.bisect_right(self._cdf, u), len(self.lanes) - 1)
            count = self.lanes[lane].batch * self.world
        else:
            left = [self._batches_left(i) for i in range(len(self.lanes))]
            total = sum(left)
            if total == 0:
                st.epoch += 1
                st.left = self._epoch_sizes()
                return None
            target, lane = u * total, 0
            while lane < len(left) - 1 and (target >= left[lane] or left[lane] == 0):
                target -= left[lane]
                lane += 1
            if left[lane] == 0:  # float rounding at the very top of the range
                lane = max(i for i, n in enumerate(left) if n)
            count = min(self.lanes[lane].batch * self.world, st.left[lane])
            st.left[lane] -= count
        batch = GlobalBatch(st.batch, lane, st.cursors[lane], count)
        st.cursors[lane] += count
        st.batch += 1
        return batch
