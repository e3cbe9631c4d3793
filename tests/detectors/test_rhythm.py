from __future__ import annotations

from detectors.rhythm import TicketRhythm

MONDAY = 1_772_409_600.0


def test_a_slot_learns_its_own_level_and_lends_it_to_the_same_hour_of_other_weekdays():
    rhythm = TicketRhythm()
    for _ in range(50):
        rhythm.learn(MONDAY + 9 * 3600, observed=30.0, predicted=10.0)
    assert 2.5 < rhythm.correction(MONDAY + 9.5 * 3600) <= 3.0
    tuesday_9 = MONDAY + 86_400 + 9.5 * 3600
    assert 1.0 < rhythm.correction(tuesday_9) <= rhythm.correction(MONDAY + 9.5 * 3600)
    saturday_9 = MONDAY + 5 * 86_400 + 9.5 * 3600
    assert rhythm.correction(saturday_9) == 1.0


def test_between_hour_midpoints_the_correction_is_interpolated():
    rhythm = TicketRhythm()
    for _ in range(50):
        rhythm.learn(MONDAY + 9 * 3600, observed=30.0, predicted=10.0)
    at = [rhythm.correction(MONDAY + h * 3600) for h in (8.5, 9.0, 9.25, 9.5, 10.0, 10.5)]
    assert at[0] == at[-1] == 1.0
    assert at[0] < at[1] < at[2] < at[3] and at[3] > at[4] > at[5]
