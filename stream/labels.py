"""A bound on the distinct values of one Prometheus label, shared by the metrics that use it.

Every distinct label value is a new time series; features and tiers come from the event stream, so a
typo-laden or hostile producer could otherwise grow the series without limit.

Examples
--------
>>> features = LabelCap(2)
>>> [features.label(f) for f in ("sso", "api", "sso", "billing")]
['sso', 'api', 'sso', None]
>>> features.label_or_other("billing")
'_other'
"""

from __future__ import annotations

__all__ = ["OTHER", "LabelCap"]

#: Value counted in place of a label value beyond the cap.
OTHER = "_other"


class LabelCap:
    """Admit the first ``limit`` distinct values of a label; later ones are refused.

    Parameters
    ----------
    limit
        Distinct values admitted.

    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self._seen: set[str] = set()

    def label(self, value: str) -> str | None:
        """``value`` if admitted (already known, or room left), else None."""
        if value in self._seen:
            return value
        if len(self._seen) < self.limit:
            self._seen.add(value)
            return value
        return None

    def label_or_other(self, value: str) -> str:
        """``value`` if admitted, else :data:`OTHER` (for counters, where a remainder adds up)."""
        admitted = self.label(value)
        return OTHER if admitted is None else admitted

    def __len__(self) -> int:
        return len(self._seen)
