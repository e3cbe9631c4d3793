"""UTC day bucketing."""

from __future__ import annotations

from detectors.daily import DayBuckets, day_label, day_of_week, day_start, utc_day

MONDAY = 1_772_409_600.0


def test_day_helpers_agree():
    day = utc_day(MONDAY + 5)
    assert day_start(day) == MONDAY
    assert day_of_week(day) == 0
    assert day_label(day) == "2026-03-02"


def test_days_close_in_order_once_and_only_when_the_watermark_passes_them():
    b = DayBuckets()
    b.add(MONDAY + 100, "a", 2)
    b.add(MONDAY + 86_400 + 5, "a", 1)
    assert list(b.close(MONDAY + 86_399)) == []
    closed = list(b.close(MONDAY + 86_400))
    assert closed == [(utc_day(MONDAY), {"a": 2})]
    assert list(b.close(MONDAY + 86_400)) == []


def test_empty_days_in_a_gap_are_reported_not_skipped():
    b = DayBuckets()
    b.add(MONDAY, "a")
    b.add(MONDAY + 3 * 86_400, "a")
    days = list(b.close(MONDAY + 4 * 86_400))
    assert [len(sums) for _, sums in days] == [1, 0, 0, 1]


def test_events_for_closed_days_are_dropped_and_counted():
    b = DayBuckets()
    b.add(MONDAY, "a")
    list(b.close(MONDAY + 86_400))
    b.add(MONDAY + 60, "a")
    assert b.late_dropped == 1
    assert b.open_days == 0
