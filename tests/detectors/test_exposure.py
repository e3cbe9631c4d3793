from __future__ import annotations

from detectors.exposure import Exposure

T0 = 1_772_409_600.0  # Monday 00:00 UTC
H = 3600.0


def _day(exposure: Exposure, day: int, accounts: int, usage: bool = True) -> list[tuple[int, float, bool]]:
    out = []
    for k in range(24 * 12):
        start = T0 + day * 86_400 + k * 300
        if usage and k % 12 == 0:
            for a in range(accounts):
                exposure.observe_usage(f"a{a}", start + 1, 5)
        out.append(exposure.close(start, start + 300))
    return out


def test_a_stalled_pipeline_keeps_the_seasonal_level_of_active_accounts():
    exposure = Exposure(window=300.0)
    for day in range(7):
        _day(exposure, day, 50)
    stalled = _day(exposure, 7, 50, usage=False)
    assert all(active >= 0.8 * 50 for active, _, _ in stalled[24:])
    assert any(gap for _, _, gap in stalled)


def test_a_lull_needs_enough_expected_tickets_and_a_deep_drop():
    exposure = Exposure(window=300.0)
    assert not any(exposure.lull(0.0, 1.0) for _ in range(10))  # too little to tell
    exposure = Exposure(window=300.0)
    assert not any(exposure.lull(9.0, 10.0) for _ in range(50))
    assert any(exposure.lull(2.0, 10.0) for _ in range(50))
