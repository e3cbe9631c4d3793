"""Session fixtures for tests that need a real Kafka broker (marked ``@pytest.mark.kafka``).

The broker is the project's own :class:`stream.kafka_local.LocalKafka`, started once per session on the
first test that asks for it. Set ``SPIKEWATCH_TEST_BOOTSTRAP=host:port`` to use a running broker instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from stream.kafka_local import LocalKafka

EXTERNAL_BOOTSTRAP_ENV = "SPIKEWATCH_TEST_BOOTSTRAP"


@pytest.fixture(scope="session")
def local_kafka() -> Iterator[LocalKafka]:
    """The session's local broker, for tests that stop or restart it (restart keeps port and data)."""
    if os.environ.get(EXTERNAL_BOOTSTRAP_ENV):
        pytest.skip(f"{EXTERNAL_BOOTSTRAP_ENV} points at an external broker, which tests cannot restart")
    with LocalKafka() as kafka:
        yield kafka


@pytest.fixture(scope="session")
def kafka_bootstrap(request: pytest.FixtureRequest) -> str:
    """``host:port`` of a Kafka broker for the whole session."""
    external = os.environ.get(EXTERNAL_BOOTSTRAP_ENV)
    if external:
        return external
    kafka: LocalKafka = request.getfixturevalue("local_kafka")
    return kafka.bootstrap
