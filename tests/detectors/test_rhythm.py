from __future__ import annotations

from detectors.rhythm import TicketRhythm

MONDAY = 1_772_409_600.0


def test_a_slot_learns_its_own_level_and_lends_it_to_the_same_hour_of_other_weekdays():
    rhythm = TicketRhythm()
    for _ in range(50):
        rhythm.learn(MONDAY + 9 * 3600, observed=30.0, predicted=10.0)
    assert 2.5 < rhythm.correction(MONDAY + 9 * 3600) <= 3.0
    tuesday_9 = MONDAY + 86_400 + 9 * 3600
    assert 1.0 < rhythm.correction(tuesday_9) <= rhythm.correction(MONDAY + 9 * 3600)
    saturday_9 = MONDAY + 5 * 86_400 + 9 * 3600
    assert rhythm.correction(saturday_9) == 1.0
