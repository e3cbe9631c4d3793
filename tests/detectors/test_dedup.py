import pytest

from detectors.dedup import TicketDeduplicator


def test_repeated_id_is_a_duplicate_once_counted():
    dedup = TicketDeduplicator(horizon=3600)
    assert not dedup.is_duplicate("T-1", 0.0)
    assert dedup.is_duplicate("T-1", 10.0)
    assert dedup.is_duplicate("T-1", 20.0)
    assert not dedup.is_duplicate("T-2", 30.0)
    assert dedup.duplicates == 2


def test_memory_follows_the_horizon_not_the_stream_length():
    dedup = TicketDeduplicator(horizon=100)
    for i in range(10_000):
        dedup.is_duplicate(f"T-{i}", float(i))
    assert len(dedup) <= 101


def test_max_size_caps_memory():
    dedup = TicketDeduplicator(horizon=1e9, max_size=50)
    for i in range(500):
        dedup.is_duplicate(f"T-{i}", float(i))
    assert len(dedup) == 50
    assert not dedup.is_duplicate("T-0", 501.0)  # forgotten, oldest first
    assert dedup.is_duplicate("T-499", 502.0)


@pytest.mark.parametrize(("kwargs", "name"), [({"horizon": 0}, "horizon"), ({"max_size": 0}, "max_size")])
def test_bad_arguments_are_rejected(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TicketDeduplicator(**kwargs)
