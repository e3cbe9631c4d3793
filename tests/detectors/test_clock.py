import math

import pytest

from detectors.clock import EventClock


def test_watermark_trails_the_latest_event_by_the_lateness():
    clock = EventClock(allowed_lateness=600)
    assert math.isinf(clock.watermark)
    for ts in (1_000.0, 5_000.0, 4_500.0):
        assert clock.observe(ts)
    assert clock.max_time == 5_000.0
    assert clock.watermark == 4_400.0


def test_late_event_within_lateness_is_used_and_beyond_is_dropped():
    clock = EventClock(allowed_lateness=600)
    clock.observe(10_000.0)
    assert clock.observe(9_401.0)
    assert not clock.is_late(9_400.0)
    assert not clock.observe(9_399.0)
    assert clock.late_dropped == 1
    assert clock.watermark == 9_400.0  # a dropped event does not move the clock


def test_zero_lateness_drops_anything_older_than_the_latest():
    clock = EventClock(allowed_lateness=0)
    clock.observe(100.0)
    assert clock.observe(100.0)
    assert not clock.observe(99.0)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_lateness_is_rejected(bad):
    with pytest.raises(ValueError, match="allowed_lateness"):
        EventClock(allowed_lateness=bad)
