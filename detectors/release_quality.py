"""Release-quality history: for each release, the alerts that pointed at it and what people said.

A regression alert names its suspected release; people later label it (``confirmed``, ``false-alarm``,
``expected``, ``new-normal``). :class:`ReleaseQuality` keeps, per release, one entry per incident (dedup
key) with its feature, the release confidence, whether it paged and its latest label, for the
``maxlen`` most recently blamed releases (older ones are dropped, so state and metric cardinality stay
bounded).

Examples
--------
>>> from schemas.alerts import Alert
>>> from schemas.feedback import AlertLabel
>>> t0 = 1_772_668_800.0
>>> def page(key, release, feature):
...     return Alert(kind="regression", severity="critical", pages=True, dedup_key=key, summary="up",
...                  feature=feature, release=release, release_confidence=0.8, started_at=t0,
...                  event_time=t0)
>>> quality = ReleaseQuality(maxlen=2)
>>> quality.observe(page("r:a", "v1.4.0", "imports"))
>>> quality.observe(page("r:b", "v1.4.0", "login"))
>>> quality.apply(AlertLabel(dedup_key="r:b", label="false-alarm", time=t0 + 60))
>>> summary = quality.summary("v1.4.0")
>>> summary["incidents"], summary["pages"], summary["false-alarm"], summary["unlabelled"]
(2, 2, 1, 1)
>>> quality.observe(page("r:c", "v1.5.0", "sso")); quality.observe(page("r:d", "v1.6.0", "sso"))
>>> quality.releases()
['v1.5.0', 'v1.6.0']
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from schemas.alerts import Alert
from schemas.feedback import FEEDBACK_LABELS, AlertLabel

__all__ = ["Incident", "ReleaseQuality"]


class Incident(NamedTuple):
    """One incident blamed on a release."""

    dedup_key: str
    kind: str
    feature: str | None
    confidence: float | None
    paged: bool
    started_at: float
    label: str | None


class ReleaseQuality:
    """Incidents and labels per release, for the ``maxlen`` releases blamed most recently.

    Parameters
    ----------
    maxlen
        Releases kept; blaming a new release beyond this forgets the one blamed least recently.
    """

    def __init__(self, maxlen: int = 50):
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, got {maxlen}")
        self.maxlen = maxlen
        self._releases: OrderedDict[str, dict[str, Incident]] = OrderedDict()
        self._release_of: dict[str, str] = {}
        self._pending: dict[str, str] = {}  # labels that came before their alert (bounded below)

    def observe(self, alert: Alert) -> None:
        """Record an alert that names a release (others are ignored)."""
        if alert.release is None:
            return
        incidents = self._releases.pop(alert.release, None) or {}
        self._releases[alert.release] = incidents  # most recently blamed last
        known = incidents.get(alert.dedup_key)
        label = known.label if known else self._pending.pop(alert.dedup_key, None)
        incidents[alert.dedup_key] = Incident(
            alert.dedup_key, alert.kind, alert.feature, alert.release_confidence,
            alert.pages or (known.paged if known else False),
            known.started_at if known else alert.started_at.timestamp(), label,
        )  # fmt: skip
        self._release_of[alert.dedup_key] = alert.release
        while len(self._releases) > self.maxlen:
            _, dropped = self._releases.popitem(last=False)
            for key in dropped:
                self._release_of.pop(key, None)

    def apply(self, label: AlertLabel) -> None:
        """Attach a person's label to the incident with that dedup key."""
        release = self._release_of.get(label.dedup_key)
        if release is None:
            self._pending[label.dedup_key] = label.label
            while len(self._pending) > 10 * self.maxlen:
                self._pending.pop(next(iter(self._pending)))
            return
        incidents = self._releases[release]
        incidents[label.dedup_key] = incidents[label.dedup_key]._replace(label=label.label)

    def releases(self) -> list[str]:
        """Releases held, least recently blamed first."""
        return list(self._releases)

    def incidents(self, release: str) -> list[Incident]:
        """The incidents blamed on ``release``, in the order they were first seen."""
        return list(self._releases.get(release, {}).values())

    def summary(self, release: str) -> dict[str, int]:
        """Counts for ``release``: incidents, pages, and incidents per label (``unlabelled`` too)."""
        incidents = self.incidents(release)
        counts = {"incidents": len(incidents), "pages": sum(i.paged for i in incidents)}
        counts |= {label: sum(i.label == label for i in incidents) for label in FEEDBACK_LABELS}
        counts["unlabelled"] = sum(i.label is None for i in incidents)
        return counts

    @property
    def state_size(self) -> int:
        """Incidents held (bounded by ``maxlen`` releases)."""
        return sum(len(incidents) for incidents in self._releases.values()) + len(self._pending)
