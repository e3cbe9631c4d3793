from __future__ import annotations

import numpy as np
import pytest

from detectors.cusum import CusumBank


def test_bank_matches_the_textbook_recursion():
    rng = np.random.default_rng(0)
    counts = rng.poisson(2.0, size=200)
    bank = CusumBank((3.0,))
    s = 0.0
    for w, x in enumerate(counts):
        bank.update(int(x), 2.0, w)
        s = max(0.0, s + x * np.log(3.0) - 2.0 * 2.0)
        assert bank.statistics[0] == pytest.approx(s)


def test_a_shift_alarms_on_the_nearest_arm_and_dates_its_start():
    bank = CusumBank((2.0, 5.0, 10.0))
    for w in range(50):
        bank.update(1, 1.0, w)
    assert bank.alarm((10.0, 10.0, 10.0)) is None
    w = 50
    while bank.alarm((10.0, 10.0, 10.0)) is None:
        bank.update(5, 1.0, w)
        w += 1
    arm, start = bank.alarm((10.0, 10.0, 10.0))
    assert bank.shifts[arm] == 5.0 and 45 <= start <= 50


def test_peek_agrees_with_update_and_changes_nothing():
    bank = CusumBank((2.0, 4.0))
    bank.update(3, 1.0, 0)
    before = bank.statistics
    seen = bank.peek([(1, 4, 1.0), (2, 4, 1.0)], (5.0, 5.0))
    assert bank.statistics == before
    bank.update(4, 1.0, 1)
    bank.update(4, 1.0, 2)
    assert seen == bank.alarm((5.0, 5.0))


def test_shifts_must_be_rises():
    with pytest.raises(ValueError, match="shifts"):
        CusumBank((1.0, 2.0))
