"""Churn outcomes: flagged accounts by customer-success state, and who recovered after the action."""

import pytest

from detectors.churn_outcomes import ChurnOutcomes
from schemas.alerts import Alert
from schemas.feedback import CustomerAction

T0 = 1_772_668_800.0
DAY = 86_400.0


def churn(key: str, status: str, at: float, kind: str = "churn_risk") -> Alert:
    return Alert(kind=kind, status=status, severity="warning", pages=False, dedup_key=key, summary="fell",
                 account_id=key.split(":")[1], started_at=T0, event_time=at)  # fmt: skip


def test_recovery_counts_only_after_the_action_and_the_latest_action_counts():
    outcomes = ChurnOutcomes()
    for name in ("a", "b", "c", "d"):
        outcomes.observe(churn(f"churn:{name}", "firing", T0 + DAY))
    outcomes.apply(CustomerAction(dedup_key="churn:a", action="contacted", time=T0 + 2 * DAY))
    outcomes.observe(churn("churn:a", "resolved", T0 + 5 * DAY))  # came back after the call
    outcomes.apply(CustomerAction(dedup_key="churn:b", action="contacted", time=T0 + 4 * DAY))
    outcomes.observe(churn("churn:b", "resolved", T0 + 3 * DAY))  # came back before anyone called
    outcomes.apply(CustomerAction(dedup_key="churn:c", action="contacted", time=T0 + 2 * DAY))
    outcomes.apply(CustomerAction(dedup_key="churn:c", action="lost", time=T0 + 9 * DAY))
    outcomes.observe(churn("churn:d", "firing", T0 + 2 * DAY))  # an update-like repeat: one episode
    rows = {row.state: row for row in outcomes.rows()}
    contacted = rows["contacted"]
    assert (contacted.flagged, contacted.recovered, contacted.recovered_after_action) == (2, 2, 1)
    assert (rows["lost"].flagged, rows["lost"].recovered) == (1, 0)
    assert (rows["open"].flagged, rows["open"].recovered) == (1, 0)
    assert outcomes.state("churn:c") == "lost"


def test_other_kinds_are_ignored_and_episodes_are_bounded():
    outcomes = ChurnOutcomes(max_episodes=2)
    outcomes.observe(churn("flood:x", "firing", T0, kind="flood"))
    for i in range(5):
        outcomes.observe(churn(f"churn:{i}", "firing", T0 + i))
    assert sum(row.flagged for row in outcomes.rows()) == 2
    with pytest.raises(ValueError, match="max_episodes"):
        ChurnOutcomes(max_episodes=0)
