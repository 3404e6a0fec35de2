"""Run partitions as Ray tasks, on a local Ray instance or a multi-node cluster.

Each task converts one partition and commits its own shards, index parts and marker to the shared corpus
directory (a path every node sees: NFS, Lustre, a FUSE-mounted bucket); the driver only enumerates records,
keeps a bounded number of tasks in flight, reports progress and merges the index. Partition output depends
only on the partition's records and settings, so the result is byte-identical to the local executor's.
A task whose worker dies is retried by Ray; the retry first wipes the dead attempt's temporary files, so a
partial shard never appears committed and no sample is duplicated or lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from onellm_data.pipeline.partition import PartitionResult, PartitionTask
from onellm_data.progress import Progress, QueueDrain


class RayExecutor:
    def __init__(self, address: str | None = None, workers: int = 2, max_retries: int = 3,
                 max_in_flight: int | None = None) -> None:
        import ray

        self._ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"address": address} if address else {"num_cpus": workers}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        cpus = int(ray.cluster_resources().get("CPU", workers))
        self.max_in_flight = max_in_flight or 2 * max(1, cpus)
        self.max_retries = max_retries

    def map(self, fn: Any, tasks: Iterable[PartitionTask], progress: Progress | None = None
            ) -> Iterator[PartitionResult]:
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)(fn)
        queue = None
        if progress is not None:
            from ray.util.queue import Queue

            queue = Queue()  # an actor: tasks on any node put their running counts into it
        drain = QueueDrain(queue, progress) if queue is not None else contextlib.nullcontext()
        pending: list[Any] = []
        with drain:
            for task in tasks:
                task.progress = queue
                pending.append(remote.remote(task))
                if len(pending) >= self.max_in_flight:
                    done, pending = ray.wait(pending, num_returns=1)
                    yield from ray.get(done)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield from ray.get(done)
