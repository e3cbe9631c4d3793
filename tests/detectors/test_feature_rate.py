from __future__ import annotations

from detectors.feature_rate import FeatureState


def test_an_account_counts_at_most_cap_tickets_per_horizon():
    state = FeatureState((3.0,))
    state.windows = {w: {"flooder": 5, f"other{w}": 1} for w in range(30)}
    counts = [state.capped_counts([w], cap=3, cap_windows=12, commit=True)[0] for w in range(30)]
    assert counts[0] == 4 and counts[1:12] == [1] * 11 and counts[12] == 4
    state.forget_counted(before=100)
    assert state.counted == {}


def test_uncommitted_counts_do_not_change_the_state():
    state = FeatureState((3.0,))
    state.windows = {0: {"a": 2}, 1: {"a": 2}}
    assert state.capped_counts([0, 1], cap=3, cap_windows=12, commit=False) == [2, 1]
    assert state.counted == {}


def test_rate_is_a_ratio_of_decayed_sums():
    state = FeatureState((3.0,))
    for _ in range(100):
        state.learn(2.0, 10.0, keep=0.99)
    assert abs(state.rate() - 0.2) < 1e-12 and state.windows_learnt == 100
