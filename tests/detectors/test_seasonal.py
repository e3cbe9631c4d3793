"""Weekly profiles shared by groups of accounts."""

from __future__ import annotations

import pytest

from detectors.seasonal import WeeklyProfile


def test_profile_is_flat_until_every_weekday_is_seen_then_averages_one():
    p = WeeklyProfile()
    for dow in range(6):
        p.update("g", dow, 100.0)
    assert p.factor("g", 0) == 1.0 and not p.is_complete("g")
    p.update("g", 6, 30.0)
    assert p.is_complete("g")
    assert sum(p.factor("g", d) for d in range(7)) == pytest.approx(7.0)
    assert p.factor("g", 6) < p.factor("g", 0)
    assert p.mean("g", 6) == pytest.approx(30.0)
    assert p.mean("other", 0) is None


def test_rejects_bad_fading_factor():
    with pytest.raises(ValueError, match="fading_factor"):
        WeeklyProfile(fading_factor=0)
