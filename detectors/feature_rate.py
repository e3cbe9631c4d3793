"""What the regression detector keeps per feature: its learnt ticket rate, recent windows, CUSUM bank.

The rate is tickets per active account per window, a ratio of exponentially decayed sums (tickets /
exposure) learnt only from windows outside incidents, data gaps and lulls. Decayed sums rather than
``river.stats.EWMean``: a mean seeded by its first value (a feature is born on its first ticket) stays
biased for hundreds of windows, a ratio of sums does not.

Counts are capped per account over a trailing horizon (:meth:`FeatureState.capped_counts`): an
account counts at most ``cap`` tickets per ``cap_windows`` windows, so one account's flood adds a few
tickets, not dozens.

Examples
--------
>>> state = FeatureState((3.0,))
>>> state.windows = {10: {"a": 5, "b": 1}, 11: {"a": 4}}
>>> state.capped_counts([10, 11], cap=3, cap_windows=12, commit=False)
[4, 0]
>>> state.capped_counts([10], cap=3, cap_windows=12, commit=True), list(state.counted["a"])
([4], [(10, 3)])
"""

from __future__ import annotations

from array import array
from itertools import chain

from detectors.cusum import CusumBank
from detectors.incident import RegressionIncident

__all__ = ["FeatureState"]


class FeatureState:
    """Everything kept for one feature: decayed rate sums, recent windows, the open incident."""

    __slots__ = (
        "bank",
        "counted",
        "expected",
        "expected_end",
        "exposure_sum",
        "incident",
        "last_alarm",
        "last_score",
        "last_ticket",
        "learn_after",
        "quiet",
        "samples",
        "ticket_sum",
        "tickets_learnt",
        "windows",
        "windows_learnt",
    )

    def __init__(self, shifts: tuple[float, ...]) -> None:
        self.bank = CusumBank(shifts)
        # account -> (window, tickets counted), oldest first: a few entries (a list, not a 600-byte deque)
        self.counted: dict[str, list[tuple[int, int]]] = {}
        self.quiet = 0  # closed windows in a row that look like baseline, during an incident
        self.last_alarm = -(2**62)
        self.ticket_sum = 0.0
        self.exposure_sum = 0.0
        self.windows_learnt = 0
        self.tickets_learnt = 0
        self.windows: dict[int, dict[str, int]] = {}  # window -> account -> tickets (open + recent)
        self.samples: dict[int, list[str]] = {}
        self.expected = array("d")  # expectation of the last closed windows, newest last (8 bytes each)
        self.expected_end = 0  # window index of the newest entry of ``expected``
        self.incident: RegressionIncident | None = None
        self.learn_after = -(2**62)  # windows up to this one belonged to an incident
        self.last_ticket = float("-inf")
        self.last_score = 0.0

    def rate(self) -> float:
        """Learnt tickets per unit of exposure (active accounts × rhythm correction) per window."""
        return self.ticket_sum / self.exposure_sum if self.exposure_sum > 0 else 0.0

    def expected_of(self, w: int, fallback: float) -> float:
        """Expected count recorded for closed window ``w`` (``fallback`` when none is)."""
        back = self.expected_end - w
        return self.expected[-1 - back] if 0 <= back < len(self.expected) else fallback

    def learn(self, observed: float, exposure: float, keep: float) -> None:
        """Fold one window's count and exposure into the decayed sums."""
        self.ticket_sum = self.ticket_sum * keep + observed
        self.exposure_sum = self.exposure_sum * keep + exposure
        self.windows_learnt += 1
        self.tickets_learnt += int(observed)

    def capped(self, w: int, cap: int) -> int:
        """Tickets of window ``w`` with each account capped at ``cap`` within the window."""
        accounts = self.windows.get(w)
        return sum(min(n, cap) for n in accounts.values()) if accounts else 0

    def capped_counts(self, windows: list[int], cap: int, cap_windows: int, commit: bool) -> list[int]:
        """Tickets of ``windows`` (consecutive, oldest first) counting each account at most ``cap``
        times per ``cap_windows`` windows; ``commit`` records them for the windows to come."""
        out = []
        pending: dict[str, list[tuple[int, int]]] = {}
        for w in windows:
            oldest, total = w - cap_windows + 1, 0
            for account, n in self.windows.get(w, {}).items():
                past = self.counted.get(account)
                if past is not None and commit:
                    while past and past[0][0] < oldest:
                        del past[0]
                used = sum(c for v, c in chain(past or (), pending.get(account, ())) if v >= oldest)
                c = min(n, cap - used)
                if c <= 0:
                    continue
                total += c
                if commit:
                    (past if past is not None else self.counted.setdefault(account, [])).append((w, c))
                else:
                    pending.setdefault(account, []).append((w, c))
            out.append(total)
        return out

    def forget_counted(self, before: int) -> None:
        """Drop accounts whose last counted ticket is older than window ``before`` (bounded state)."""
        for account in [a for a, past in self.counted.items() if not past or past[-1][0] < before]:
            del self.counted[account]
