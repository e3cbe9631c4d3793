"""Prediction → intervention → outcome: what became of the accounts flagged at churn risk.

A churn-risk alert opens an episode for one account (``firing``) and closes it when the account's usage
comes back (``resolved``); customer success records where it is with the account on the feedback topic
(:class:`~schemas.feedback.CustomerAction`: ``open``, ``contacted``, ``saved``, ``lost``; the latest per
alert counts). :class:`ChurnOutcomes` joins the two: per action state, how many flagged accounts there
are, how many recovered, and how many recovered after the action was recorded (contact first, then
the usage came back).

Examples
--------
>>> from schemas.alerts import Alert
>>> from schemas.feedback import CustomerAction
>>> def churn(key, account, status, at):
...     return Alert(kind="churn_risk", status=status, severity="warning", pages=False, dedup_key=key,
...                  summary="usage fell", account_id=account, started_at=1772668800, event_time=at)
>>> outcomes = ChurnOutcomes()
>>> outcomes.observe(churn("churn:acme:1", "acme", "firing", 1772755200))
>>> outcomes.observe(churn("churn:initech:1", "initech", "firing", 1772755200))
>>> outcomes.apply(CustomerAction(dedup_key="churn:acme:1", action="contacted", time=1772800000))
>>> outcomes.observe(churn("churn:acme:1", "acme", "resolved", 1773000000))
>>> [(row.state, row.flagged, row.recovered, row.recovered_after_action) for row in outcomes.rows()]
[('open', 1, 0, 0), ('contacted', 1, 1, 1), ('saved', 0, 0, 0), ('lost', 0, 0, 0)]
"""

from __future__ import annotations

from typing import NamedTuple

from schemas.alerts import Alert
from schemas.feedback import ACTION_STATES, CustomerAction

__all__ = ["ChurnOutcomes", "OutcomeRow"]


class OutcomeRow(NamedTuple):
    """Flagged accounts in one action state and how many of them recovered."""

    state: str
    flagged: int
    recovered: int
    recovered_after_action: int


class ChurnOutcomes:
    """Churn-risk episodes joined with customer success's actions (at most ``max_episodes`` kept)."""

    def __init__(self, max_episodes: int = 100_000):
        if max_episodes < 1:
            raise ValueError(f"max_episodes must be at least 1, got {max_episodes!r}")
        self.max_episodes = max_episodes
        self._fired: dict[str, tuple[str | None, float]] = {}  # dedup key -> (account, fired at)
        self._resolved: dict[str, float] = {}
        self._actions: dict[str, CustomerAction] = {}

    def observe(self, alert: Alert) -> None:
        """Take a churn-risk alert (other kinds are ignored)."""
        if alert.kind != "churn_risk":
            return
        if alert.status == "resolved":
            self._resolved[alert.dedup_key] = alert.ts
        elif alert.dedup_key not in self._fired:
            self._fired[alert.dedup_key] = (alert.account_id, alert.ts)
            while len(self._fired) > self.max_episodes:
                oldest = next(iter(self._fired))
                del self._fired[oldest]
                self._resolved.pop(oldest, None)

    def apply(self, action: CustomerAction) -> None:
        """Record customer success's latest action on an alert."""
        self._actions[action.dedup_key] = action

    def state(self, dedup_key: str) -> str:
        """The action state of an episode (``open`` until told otherwise)."""
        action = self._actions.get(dedup_key)
        return action.action if action is not None else "open"

    def rows(self) -> list[OutcomeRow]:
        """One row per action state, in the order open, contacted, saved, lost."""
        counts = {state: [0, 0, 0] for state in ACTION_STATES}
        for key in self._fired:
            row = counts[self.state(key)]
            row[0] += 1
            resolved = self._resolved.get(key)
            if resolved is not None:
                row[1] += 1
                action = self._actions.get(key)
                if action is not None and resolved >= action.time.timestamp():
                    row[2] += 1
        return [OutcomeRow(state, *counts[state]) for state in ACTION_STATES]
