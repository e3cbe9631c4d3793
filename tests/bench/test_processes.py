import os
import time

import pytest

from bench.processes import PassTiming, cpu_seconds, worker_env


def test_rates_from_launch_and_steady():
    timing = PassTiming("x", events=1000, first=2.0, end=12.0, cpu=5.0)
    assert timing.steady_rate == pytest.approx(100.0)
    assert timing.overall_rate == pytest.approx(1000 / 12)


def test_cpu_seconds_grow_with_work():
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) >= before + 0.2


def test_worker_env_isolates_the_run(tmp_path):
    env = worker_env("127.0.0.1:9092", "bench-x", "bench-x.events", 12, tmp_path)
    assert env["SPIKEWATCH_TOPICS__INPUT"] == "bench-x.events"
    assert env["SPIKEWATCH_TOPICS__PARTITIONS"] == "12"
    assert env["SPIKEWATCH_TOPICS__DEADLETTER"].startswith("bench-x")
    assert env["SPIKEWATCH_TOPICS__ALERT_PREFIX"].startswith("bench-x")
