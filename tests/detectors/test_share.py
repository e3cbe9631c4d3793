"""A feature's baseline share of tickets and the evidence of a rise."""

from __future__ import annotations

from detectors.share import FeatureShare, anscombe


def _learnt(mine, others, days=14):
    st = FeatureShare()
    for _ in range(days):
        st.learn(mine, others, memory_days=28)
    return st


def test_usual_share_is_evidence_against_and_a_doubled_share_for():
    st = _learnt(40, 760)
    assert st.log_likelihood_ratio(40, 760, ratio=1.25, confidence_z=2.0) < 0
    assert st.log_likelihood_ratio(80, 760, ratio=1.25, confidence_z=2.0) > 0


def test_a_thin_baseline_needs_more_evidence():
    thick, thin = _learnt(40, 760, days=14), _learnt(4, 76, days=3)
    rise = (60, 760)
    assert thick.log_likelihood_ratio(*rise, 1.25, 2.0) > thin.log_likelihood_ratio(*rise, 1.25, 2.0)


def test_no_history_is_no_evidence():
    assert FeatureShare().log_likelihood_ratio(10, 100, 1.25, 2.0) == 0.0


def test_anscombe_is_signed():
    assert anscombe(20, 10) > 0 > anscombe(5, 10)
