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


def test_an_event_far_ahead_is_dropped_unless_many_in_a_row_confirm_the_jump():
    clock = EventClock(allowed_lateness=600, max_jump=86_400, jump_confirmations=3)
    assert clock.observe(1_000_000.0)
    assert not clock.observe(4_102_444_799.0)  # 2099: one broken clock
    assert clock.observe(1_000_100.0)  # the stream goes on, unharmed
    assert (clock.future_dropped, clock.max_time) == (1, 1_000_100.0)
    resumed = 1_000_100.0 + 10 * 86_400
    assert [clock.observe(resumed + i) for i in range(3)] == [False, False, True]  # a real jump, confirmed
    assert clock.max_time == resumed + 2 and clock.future_dropped == 3


@pytest.mark.parametrize("kwargs", [{"max_jump": 0}, {"jump_confirmations": 0}])
def test_bad_jump_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        EventClock(**kwargs)
