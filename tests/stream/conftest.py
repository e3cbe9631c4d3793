"""Fixtures of the stream tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stream.worker_support import stop_leftover_workers


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test() -> Iterator[None]:
    yield
    stop_leftover_workers()
