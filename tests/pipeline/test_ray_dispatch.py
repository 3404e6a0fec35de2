"""How the driver hands partitions to Ray, checked against a stand-in ``ray`` module (no cluster needed): one
task per partition asking one CPU, retried by Ray on a dead worker, and a bounded number in flight, so a
billion-item input never becomes a billion pending tasks."""

from __future__ import annotations

import sys
import types

import pytest


class FakeRay(types.ModuleType):
    """Records what RayExecutor asks of ``ray``; a task runs when its result is fetched."""

    def __init__(self, cpus: int) -> None:
        super().__init__("ray")
        self.cpus, self.init_kwargs, self.remote_options = cpus, None, None
        self.submitted = self.finished = self.most_in_flight = 0
        self.initialized = False

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs) -> None:
        self.init_kwargs, self.initialized = kwargs, True

    def cluster_resources(self) -> dict:
        return {"CPU": float(self.cpus)}

    def remote(self, **options):
        self.remote_options = options
        fake = self

        def wrap(fn):
            class Remote:
                @staticmethod
                def remote(task):
                    fake.submitted += 1
                    fake.most_in_flight = max(fake.most_in_flight, fake.submitted - fake.finished)
                    return (fn, task)
            return Remote
        return wrap

    def wait(self, pending, num_returns=1):
        return pending[:num_returns], pending[num_returns:]

    def get(self, refs):
        self.finished += len(refs)
        return [fn(task) for fn, task in refs]


@pytest.fixture
def fake_ray(monkeypatch):
    fake = FakeRay(cpus=3)
    monkeypatch.setitem(sys.modules, "ray", fake)
    return fake


def test_one_cpu_per_task_retried_and_a_bounded_number_in_flight(fake_ray):
    from onellm_data.pipeline.ray_executor import RayExecutor

    executor = RayExecutor(workers=3)
    assert fake_ray.init_kwargs["num_cpus"] == 3
    pulled = []

    def tasks():
        for i in range(50):
            pulled.append(i)
            # The driver reads the input lazily: never more than the in-flight bound ahead of the results.
            assert len(pulled) - fake_ray.finished <= executor.max_in_flight
            yield types.SimpleNamespace(index=i, progress=None)

    results = list(executor.map(lambda task: task.index * 10, tasks()))
    assert sorted(results) == [i * 10 for i in range(50)]
    assert fake_ray.remote_options == {"num_cpus": 1, "max_retries": 3, "retry_exceptions": False}
    assert executor.max_in_flight == 6 and fake_ray.most_in_flight == 6  # 2 per cluster CPU


def test_a_cluster_address_is_joined_not_started(fake_ray):
    """``convert --executor ray --address auto``: the CLI's executor joins the running cluster."""
    from onellm_data.pipeline.executors import make_executor
    from onellm_data.pipeline.ray_executor import RayExecutor

    assert isinstance(make_executor("ray", 8, "auto"), RayExecutor)
    assert fake_ray.init_kwargs["address"] == "auto" and "num_cpus" not in fake_ray.init_kwargs
