"""One release-regression incident: its running totals, and the alerts it emits.

An incident is one dedup key ``regression:{feature}:{start}`` with the status sequence
``firing → updated* → resolved``; the totals (tickets observed, expected, accounts affected, sample
ticket ids) grow as its windows close.

Examples
--------
>>> incident = RegressionIncident("regression:export:2026-03-02T14:05Z", 100, 1_772_460_300.0)
>>> incident.observed, incident.expected, incident.accounts = 12, 3.0, {"a", "b", "c"}
>>> alert = regression_alert("export", incident, "firing", 1_772_460_900.0, window=300.0)
>>> alert.status, alert.pages, alert.accounts_affected, alert.summary
('firing', True, 3, 'export tickets rising: 12 observed vs 3.0 expected from 3 accounts')
>>> incident.emitted_observed
12
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.alerts import Alert

__all__ = ["MAX_SAMPLES", "RegressionIncident", "regression_alert"]

#: Sample ticket ids kept as evidence.
MAX_SAMPLES = 5
_VERB = {"firing": "rising", "updated": "still rising", "resolved": "back to baseline"}


class RegressionIncident:
    """Running totals of one incident; ``start_window`` is the first window of its evidence."""

    __slots__ = (
        "accounts",
        "counted_through",
        "emitted_accounts",
        "emitted_observed",
        "expected",
        "key",
        "observed",
        "release",
        "release_confidence",
        "samples",
        "score",
        "start",
        "start_window",
    )

    def __init__(self, key: str, start_window: int, start: float):
        self.key, self.start_window, self.start = key, start_window, start
        self.counted_through = start_window - 1  # last window whose tickets are in the totals
        self.accounts: set[str] = set()
        self.observed, self.expected, self.score = 0, 0.0, 0.0
        self.emitted_accounts, self.emitted_observed = 0, 0
        self.release: str | None = None
        self.release_confidence: float | None = None
        self.samples: list[str] = []

    def add_samples(self, ticket_ids: Iterable[str]) -> None:
        """Keep up to :data:`MAX_SAMPLES` distinct sample ticket ids."""
        for ticket_id in ticket_ids:
            if len(self.samples) < MAX_SAMPLES and ticket_id not in self.samples:
                self.samples.append(ticket_id)

    @property
    def grew(self) -> bool:
        """True when accounts or tickets grew by half since the last emission."""
        return (len(self.accounts) >= 1.5 * self.emitted_accounts
                or self.observed >= 1.5 * self.emitted_observed)  # fmt: skip


def regression_alert(feature: str, incident: RegressionIncident, status: str, at: float,
                     window: float) -> Alert:  # fmt: skip
    """The alert of ``incident`` with ``status`` at event time ``at`` (pages on-call).

    Records what was emitted, so that :attr:`RegressionIncident.grew` compares with it.
    """
    incident.emitted_accounts = len(incident.accounts)
    incident.emitted_observed = incident.observed
    release = f" after release {incident.release}" if incident.release else ""
    return Alert(
        kind="regression",
        status=status,
        dedup_key=incident.key,
        severity="critical",
        pages=True,
        summary=(
            f"{feature} tickets {_VERB[status]}{release}: {incident.observed} observed vs "
            f"{incident.expected:.1f} expected from {len(incident.accounts)} accounts"
        ),
        feature=feature,
        release=incident.release,
        release_confidence=incident.release_confidence,
        accounts_affected=len(incident.accounts),
        observed=float(incident.observed),
        expected=round(incident.expected, 3),
        score=round(incident.score, 3),
        evidence={
            "sample_ticket_ids": list(incident.samples),
            "window_seconds": window,
            "sample_accounts": sorted(incident.accounts)[:10],
        },
        started_at=incident.start,
        event_time=at,
    )
