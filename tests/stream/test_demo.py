"""`spikewatch demo`, the README's main command, end to end: its own Kafka, a worker, a page."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from stream.kafka_local import free_port, port_is_free

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(1200)]


def test_demo_pages_the_planted_regression_and_stops_everything():
    web_port = free_port()
    run = subprocess.run(
        [sys.executable, "-m", "stream.cli", "demo", "--until-regression", "--timeout", "900",
         "--web-port", str(web_port)],
        capture_output=True, text=True, timeout=1100,
    )  # fmt: skip
    out = " ".join(run.stdout.split())  # rich wraps long lines
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    planted = re.findall(r"planted: release (\S+) breaks (\S+)", out)
    assert planted, out[:2000]
    page = re.search(r"FIRING regression \[PAGE\] (\S+) tickets rising after release (\S+):", out)
    assert page is not None, out[-3000:]
    assert (page.group(2), page.group(1)) in planted  # the right release and feature
    assert f"http://127.0.0.1:{web_port}/metrics" in out.replace("/metrics, ", "/metrics ")
    bootstrap = re.search(r"Kafka at 127\.0\.0\.1:(\d+)", out)
    assert bootstrap is not None
    assert port_is_free(int(bootstrap.group(1)))  # the broker was stopped
    assert port_is_free(web_port)  # and the worker
