"""Counts by type and feature, exactly once per source record even when records come again."""

from __future__ import annotations

import random

from schemas.parse import parse_event
from stream.counters import DeadLetterLog, EventCounters, partition_entries, replace_partition, resume_offsets

TICKET = (
    b'{"type": "ticket", "ticket_id": "T-1", "account_id": "a", "feature": "sso/saml", "time": 1772460300}'
)
USAGE = b'{"type": "usage", "account_id": "a", "feature": "sso", "time": 1772460300}'


def test_valid_events_are_counted_by_type_and_tickets_by_feature():
    counters = EventCounters({})
    assert counters.handle(parse_event(TICKET), topic="events", partition=0, offset=0)
    assert counters.handle(parse_event(USAGE), topic="events", partition=0, offset=1)
    assert counters.handle(parse_event(TICKET), topic="events", partition=1, offset=0)
    # A feature may contain the key separator; usage features are not ticket features.
    assert counters.totals() == {"by_type": {"ticket": 2, "usage": 1}, "by_feature": {"sso/saml": 2}}


def test_each_partition_keeps_its_own_entries():
    table: dict = {}
    counters = EventCounters(table)
    counters.apply("usage", None, topic="events", partition=0, offset=5)
    counters.apply("usage", None, topic="events", partition=3, offset=5)
    counters.apply("usage", None, topic="other", partition=0, offset=5)
    assert sorted(table) == ["events/0/type:usage", "events/3/type:usage", "other/0/type:usage"]
    assert counters.totals()["by_type"] == {"usage": 3}


class Logged(dict):
    """A table that also appends every assignment to a changelog list."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, list[int]]] = []

    def __setitem__(self, key, value):
        self.log.append((key, value))
        super().__setitem__(key, value)


def test_crash_at_any_point_with_any_committed_offset_counts_every_record_once():
    """Restore after a crash at every record, from every changelog prefix, and resume the way the worker
    does: at the committed offset, or earlier where the table holds less."""
    rng = random.Random(3)
    kinds = [
        rng.choice([("ticket", "sso"), ("ticket", "api"), ("usage", None), ("bad", None)]) for _ in range(40)
    ]

    def run(offsets, table):
        counters, dead_letters = EventCounters(table), DeadLetterLog(table)
        for offset in offsets:
            event_type, feature = kinds[offset]
            if event_type == "bad":
                if not dead_letters.is_sent("not_json", topic="t", partition=0, offset=offset):
                    dead_letters.record("not_json", topic="t", partition=0, offset=offset)
            else:
                counters.apply(event_type, feature, topic="t", partition=0, offset=offset)
        return counters.totals(), dead_letters.totals()

    expected = run(range(40), {})
    for crash in range(41):
        before = Logged()
        run(range(crash), before)
        for cut in range(len(before.log) + 1):  # the changelog holds some prefix of the updates
            restored = dict(before.log[:cut])
            committed = rng.randrange(0, crash + 1)  # may even be past what the changelog holds
            resume_at = min(committed, resume_offsets(restored).get(("t", 0), 0))
            assert run(range(resume_at, 40), restored) == expected, (crash, cut, committed)


def test_a_partition_saved_and_put_back_restores_its_counts_and_dead_letters_only():
    table: dict = {}
    counters, dead_letters = EventCounters(table), DeadLetterLog(table)
    counters.apply("ticket", "sso", topic="events", partition=0, offset=4)
    dead_letters.record("not_json", topic="events", partition=0, offset=5)
    counters.apply("usage", None, topic="events", partition=10, offset=2)  # "events/1" is a prefix here
    saved = partition_entries(table, "events", 0)
    assert saved == {"type:ticket": [1, 4], "feature:sso": [1, 4], "dead:not_json": [1, 5]}
    replace_partition(table, "events", 0, {})  # revoked: another worker counts it now
    assert counters.totals() == {"by_type": {"usage": 1}, "by_feature": {}}
    replace_partition(table, "events", 0, saved)  # assigned again, counts read back
    assert counters.totals() == {"by_type": {"ticket": 1, "usage": 1}, "by_feature": {"sso": 1}}
    assert dead_letters.is_sent("not_json", topic="events", partition=0, offset=5)
    saved["type:ticket"][0] = 99  # the saved copy is not the table's
    assert counters.totals()["by_type"]["ticket"] == 1
