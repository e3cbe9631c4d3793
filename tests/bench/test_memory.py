import itertools
import sys

from bench.memory import deep_size, hourly_stream, resident_bytes


def test_deep_size_counts_shared_objects_once_and_skips_classes():
    payload = bytes(10_000)

    class Holder:
        def __init__(self):
            self.items = [payload, payload]

    holder = Holder()
    size = deep_size(holder)
    assert size >= sys.getsizeof(payload) + sys.getsizeof(holder.items)
    assert size < 2 * sys.getsizeof(payload)


def test_deep_size_leaves_out_what_is_excluded():
    owner = {"big": bytes(10_000)}
    part = [owner]  # a part that refers back to its owner
    assert deep_size(part, exclude=(owner,)) == sys.getsizeof(part)
    assert deep_size(part) > 10_000


def test_deep_size_grows_with_what_is_kept():
    small = {i: str(i) for i in range(10)}
    large = {i: str(i) for i in range(1000)}
    assert deep_size(large) > 50 * deep_size(small) / 10


def test_hourly_stream_uses_every_pair_after_features_hours():
    hours = list(hourly_stream(accounts=10, features=4, hours=4, ticket_share=0.0))
    usage = {(e.account_id, e.feature) for hour in hours for e in hour if e.type == "usage"}
    assert len(usage) == 10 * 4
    snapshots = [e for hour in hours for e in hour if e.type == "account"]
    assert len(snapshots) == 10  # once a day, at the first hour


def test_hourly_stream_times_stay_inside_their_hour():
    starts = []
    for hour in hourly_stream(accounts=50, features=3, hours=3, ticket_share=0.2):
        starts.append(hour[0].ts)
        assert all(starts[-1] <= e.ts < starts[-1] + 3600 for e in hour)
    assert [b - a for a, b in itertools.pairwise(starts)] == [3600, 3600]


def test_resident_bytes_is_positive():
    assert resident_bytes() > 1 << 20
