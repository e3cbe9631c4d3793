import pytest

from detectors.activity import SETTLING, ActivityTracker, HourlyProfile, hour_of_week

MONDAY = 1_772_409_600.0  # 2026-03-02 00:00 UTC


def test_hour_of_week_starts_on_monday_utc():
    assert hour_of_week(MONDAY) == 0
    assert hour_of_week(MONDAY + 3600 * 25) == 25
    assert hour_of_week(MONDAY + 7 * 86_400 - 1) == 167


def test_active_accounts_are_those_with_recent_usage():
    tracker = ActivityTracker(bucket=300, active_horizon=3600)
    tracker.observe("a", MONDAY, 3)
    tracker.observe("b", MONDAY + 1800, 1)
    tracker.observe("a", MONDAY + 1800, 1)  # moves, is not counted twice
    assert tracker.active_at(MONDAY + 2000) == 2
    assert tracker.active_at(MONDAY + 1800 + 3600 + 300) == 0


def test_zero_count_usage_shows_the_pipeline_is_alive_but_not_activity():
    tracker = ActivityTracker()
    tracker.observe("a", MONDAY, 0)
    assert tracker.active_at(MONDAY + 60) == 0
    assert tracker.usage_events_between(MONDAY, MONDAY + 300) == 1


def test_late_usage_does_not_move_an_account_back():
    tracker = ActivityTracker(bucket=300, active_horizon=3600)
    tracker.observe("a", MONDAY + 3000, 1)
    tracker.observe("a", MONDAY, 1)
    assert tracker.active_at(MONDAY + 3000 + 3000) == 1


def test_idle_accounts_are_evicted():
    tracker = ActivityTracker(bucket=300, active_horizon=3600, idle_horizon=86_400)
    for i in range(100):
        tracker.observe(f"old{i}", MONDAY, 1)
    tracker.observe("recent", MONDAY + 2 * 86_400, 1)
    tracker.evict(MONDAY + 2 * 86_400)
    assert tracker.state_size == 1
    assert tracker.active_at(MONDAY + 2 * 86_400) == 1


def test_profile_is_per_hour_of_week():
    profile = HourlyProfile(min_updates=2)
    for week in range(3):
        profile.update(MONDAY + week * 7 * 86_400 + 9 * 3600, 100.0)
        profile.update(MONDAY + week * 7 * 86_400 + 3 * 3600, 10.0)
    assert profile.get(MONDAY + 9 * 3600 + 600) == pytest.approx(100.0)
    assert profile.get(MONDAY + 3 * 3600) == pytest.approx(10.0)
    assert profile.get(MONDAY + 12 * 3600) is None


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"bucket": 0}, "bucket"),
        ({"active_horizon": 10}, "active_horizon"),
        ({"idle_horizon": 60}, "idle_horizon"),
    ],
)
def test_bad_tracker_arguments_are_rejected(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ActivityTracker(**kwargs)


def test_hour_of_day_profile_pools_the_days_of_the_week():
    profile = HourlyProfile(hours=24, min_updates=2)
    profile.update(MONDAY + 9 * 3600, 50.0)
    profile.update(MONDAY + 86_400 + 9 * 3600, 50.0)
    assert profile.get(MONDAY + 5 * 86_400 + 9 * 3600) == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"hours": 25}, "hours"), ({"fading_factor": 0}, "fading_factor")]
)
def test_bad_profile_arguments_are_rejected(kwargs, name):
    with pytest.raises(ValueError, match=name):
        HourlyProfile(**kwargs)


def test_only_accounts_created_after_the_first_day_have_a_first_usage():
    tracker = ActivityTracker(bucket=300, active_horizon=3600)
    tracker.observe("old", 1_000.0, 1)
    tracker.observe("late-riser", 1_000.0 + 0.5 * SETTLING, 1)
    tracker.observe("new", 1_000.0 + 2 * SETTLING, 1)
    tracker.observe("new", 1_000.0 + 3 * SETTLING, 1)
    assert tracker.first_seen("old") is None and tracker.first_seen("late-riser") is None
    assert tracker.first_seen("unknown") is None
    assert 1_000.0 + 2 * SETTLING - 300 < tracker.first_seen("new") <= 1_000.0 + 2 * SETTLING
