import itertools
from collections import Counter

import orjson
import pytest
from aiokafka.partitioner import murmur2

from bench.generate import (
    GeneratorConfig,
    account_key,
    event_times,
    generate,
    partition_records,
    zipf_weights,
)
from schemas.parse import Rejection, parse_event


@pytest.fixture(scope="module")
def stream() -> list[bytes]:
    return generate(GeneratorConfig(events=20_000, accounts=2_000, features=30, seed=5, hours=48))


def test_every_line_is_a_valid_event(stream):
    assert len(stream) == 20_000
    assert not [line for line in stream if isinstance(parse_event(line), Rejection)]


def test_nine_events_in_ten_are_usage(stream):
    types = Counter(orjson.loads(line)["type"] for line in stream)
    assert types["usage"] / len(stream) == pytest.approx(0.90, abs=0.01)
    assert types["ticket"] > 0 and types["account"] > 0
    assert 1 <= types["release"] <= 48 / 6 + 1


def test_accounts_are_skewed_and_features_all_used(stream):
    events = [orjson.loads(line) for line in stream]
    by_account = Counter(e["account_id"] for e in events if "account_id" in e)
    top_share = sum(n for _, n in by_account.most_common(20)) / sum(by_account.values())
    assert top_share > 0.2  # 1% of the accounts carry a fifth of the events or more
    assert len(by_account) > 500  # ... and a long tail
    assert len({e["feature"] for e in events if e["type"] == "usage"}) == 30


def test_event_time_advances_with_a_few_late_events(stream):
    times = [parse_event(line).ts for line in stream]
    span = times[-1] - times[0]
    assert span == pytest.approx(48 * 3600, rel=0.05)
    backwards = sum(b < a for a, b in itertools.pairwise(times))
    assert 0 < backwards < 0.05 * len(times)
    running_max, worst = times[0], 0.0
    for t in times:
        worst = max(worst, running_max - t)
        running_max = max(running_max, t)
    assert worst <= 121  # late by at most two minutes: inside the worker's allowed lateness


def test_afternoons_are_busier_than_nights():
    import numpy as np

    times = event_times(50_000, 24, np.random.default_rng(1))
    hours = ((times - times[0]) // 3600).astype(int)
    per_hour = np.bincount(hours, minlength=24)
    assert per_hour[14] > 2 * per_hour[3]


def test_same_seed_same_stream_other_seed_other_stream():
    config = GeneratorConfig(events=500, accounts=50, seed=9)
    assert generate(config) == generate(config)
    assert generate(config) != generate(GeneratorConfig(events=500, accounts=50, seed=10))


def test_bad_sizes_are_rejected_by_name():
    with pytest.raises(ValueError, match="accounts"):
        GeneratorConfig(accounts=0)
    with pytest.raises(ValueError, match="hours"):
        GeneratorConfig(hours=0)


def test_zipf_weights_sum_to_one_and_decrease():
    weights = zipf_weights(100, 1.0)
    assert weights.sum() == pytest.approx(1.0)
    assert all(weights[:-1] > weights[1:])
    assert zipf_weights(4, 0.0).tolist() == pytest.approx([0.25] * 4)


def test_partitions_follow_kafkas_default_partitioner(stream):
    placed = partition_records(stream[:3000], 12)
    assert sum(map(len, placed)) == 3000
    for partition, records in enumerate(placed):
        for key, value in records:
            assert key == account_key(value)
            if key is not None:
                assert key == orjson.loads(value)["account_id"].encode()
                assert (murmur2(key) & 0x7FFFFFFF) % 12 == partition
