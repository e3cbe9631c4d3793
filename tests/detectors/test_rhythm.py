from __future__ import annotations

from detectors.rhythm import TicketRhythm

MONDAY = 1_772_409_600.0


def test_a_slot_learns_its_own_level_and_lends_it_to_the_same_hour_of_other_weekdays():
    rhythm = TicketRhythm()
    for _ in range(50):
        rhythm.learn(MONDAY + 9 * 3600, observed=30.0, predicted=10.0)
    assert 2.5 < rhythm.correction(MONDAY + 9.5 * 3600) <= 3.05  # truth 3
    tuesday_9 = MONDAY + 86_400 + 9.5 * 3600
    # Weekday hours pool their evidence: one weekday's rush is lent whole to the others until their own
    # weeks say otherwise (worth WEEK_PRIOR tickets).
    assert abs(rhythm.correction(tuesday_9) - rhythm.correction(MONDAY + 9.5 * 3600)) < 0.05
    # A weekend hour never seen is guessed from the hour of day and the weekend's level (none yet),
    # and said to be a guess.
    saturday_9 = MONDAY + 5 * 86_400 + 9.5 * 3600
    assert 1.0 < rhythm.correction(saturday_9) <= rhythm.correction(tuesday_9)
    assert not rhythm.knows(saturday_9) and rhythm.knows(tuesday_9)


def test_a_weekend_night_with_few_tickets_leans_on_the_hour_of_day_not_on_one():
    rhythm = TicketRhythm()
    for day in range(14):
        for hour in range(24):
            night = hour < 6
            weekend = day % 7 >= 5
            level = (0.1 if night else 1.0) * (0.25 if weekend else 1.0)
            # predicted 10 per window everywhere; observed follows the day and week
            rhythm.learn(MONDAY + day * 86_400 + hour * 3600, observed=10.0 * level, predicted=10.0)
    sunday_3 = MONDAY + 6 * 86_400 + 3.5 * 3600
    assert rhythm.correction(sunday_3) < 0.06  # truth 0.025; shrinking towards 1 gave about 0.3


def test_between_hour_midpoints_the_correction_is_interpolated():
    rhythm = TicketRhythm()
    for _ in range(50):
        rhythm.learn(MONDAY + 9 * 3600, observed=30.0, predicted=10.0)
    at = [rhythm.correction(MONDAY + h * 3600) for h in (8.5, 9.0, 9.25, 9.5, 10.0, 10.5)]
    assert abs(at[0] - 1.0) < 0.1 and abs(at[-1] - 1.0) < 0.1
    assert at[0] < at[1] < at[2] < at[3] and at[3] > at[4] > at[5]
