"""A cap on the accounts the detectors keep state for, so a flood of account ids cannot exhaust memory.

Per-account state (activity, flood baselines, usage levels for churn and expansion) is what grows with
the customer base. A misbehaving producer (random account ids, an id per request) would grow it
without bound, so :class:`AccountBudget` caps the accounts tracked at ``max_accounts`` and names the
one to shed when a new account would exceed it. Set the cap well above the real number of accounts:
it is a safety valve, not a sampling rule.

Which account is shed: a segmented least-recently-seen order. A new account is on *probation*; it is
*established* once it is seen again in a later hour. Probation accounts are shed first, oldest first,
so a million ids seen once each push each other out and leave the real, returning customers alone;
only when probation is empty is the least recently seen established account shed. An account that a
detector *holds* (an open flood, churn or expansion episode: its alert must still be updated and
resolved) is skipped while another can be shed. Recency is refreshed once per hour of event time per
account, which keeps the per-event cost to a dictionary lookup. A shed account that comes back starts afresh:
its baselines are relearnt, and until ``new_account_horizon`` has passed the regression detector takes
it for a new customer (its tickets do not count as breadth).

Examples
--------
>>> budget = AccountBudget(max_accounts=2)
>>> budget.admit("acme", 0.0), budget.admit("acme", 3_600.0)  # acme returns an hour later
(None, None)
>>> budget.admit("x1", 3_700.0), budget.admit("x2", 3_800.0)  # one-off ids shed each other
(None, 'x1')
>>> budget.shed, len(budget), "acme" in budget
(1, 2, True)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

__all__ = ["AccountBudget"]

_HOUR = 3600.0
_SKIP_HELD = 16  # held accounts passed over per shedding before one is shed anyway


class AccountBudget:
    """Which accounts are tracked, and which to shed beyond ``max_accounts``.

    Parameters
    ----------
    max_accounts
        Accounts tracked at most.
    holds
        Called with an account id: True when some detector must keep it (an open episode).
    """

    __slots__ = ("_established", "_probation", "holds", "max_accounts", "shed")

    def __init__(self, max_accounts: int = 250_000, holds: Callable[[str], bool] | None = None):
        if int(max_accounts) != max_accounts or max_accounts < 1:
            raise ValueError(f"max_accounts must be an integer >= 1, got {max_accounts!r}")
        self.max_accounts = int(max_accounts)
        self.holds = holds
        # Ordered dicts, not dicts: taking the oldest from the front of a plain dict that many were
        # deleted from scans the deleted slots, an OrderedDict does not.
        self._probation: OrderedDict[str, int] = OrderedDict()  # account -> hour first seen, oldest first
        self._established: OrderedDict[str, int] = OrderedDict()  # account -> hour last seen, oldest first
        self.shed = 0  # accounts shed so far

    def __len__(self) -> int:
        return len(self._probation) + len(self._established)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._established or account_id in self._probation

    def admit(self, account_id: str, ts: float) -> str | None:
        """Note ``account_id`` seen at event time ``ts``; return an account to shed, if one must go."""
        hour = int(ts // _HOUR)
        established = self._established
        last = established.get(account_id)
        if last is not None:
            if hour > last:  # refresh its place in the recency order (at most once an hour)
                established[account_id] = hour
                established.move_to_end(account_id)
            return None
        probation = self._probation
        first = probation.get(account_id)
        if first is not None:
            if hour > first:  # back in a later hour: a real, returning account
                del probation[account_id]
                established[account_id] = hour
            return None
        probation[account_id] = hour
        if len(probation) + len(established) <= self.max_accounts:
            return None
        return self._shed_one(account_id)

    def _shed_one(self, keep: str) -> str:
        skipped = 0
        while True:
            pool = self._probation if len(self._probation) > (keep in self._probation) else self._established
            victim, hour = pool.popitem(last=False)  # never ``keep``: it is the newest on probation
            if skipped < _SKIP_HELD and self.holds is not None and self.holds(victim):
                skipped += 1
                self._established[victim] = hour  # held: to the back, and try the next one
                continue
            self.shed += 1
            return victim
