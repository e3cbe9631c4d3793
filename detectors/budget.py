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

from collections import deque
from collections.abc import Callable

__all__ = ["AccountBudget"]

_HOUR = 3600.0
_SKIP_HELD = 16  # held accounts passed over per shedding before one is shed anyway


class _Run:
    """Entries of a :class:`_Recency` appended one after the other with the same hour."""

    __slots__ = ("accounts", "head", "hour", "live")

    def __init__(self, hour: int) -> None:
        self.hour = hour
        self.accounts: list[str] = []
        self.head = 0  # entries before it were popped
        self.live = 0  # entries that are still their account's place in the order


class _Recency:
    """Accounts in the order they were last put at the end, each with an hour: an ``OrderedDict``
    of account -> hour with ``move_to_end``, at about half its memory.

    An account maps to the run holding its place; putting it at the end appends a new entry and
    leaves the old one stale (skipped when popped, dropped when its run has no live entry left or
    when stale entries outnumber live ones).

    Examples
    --------
    >>> q = _Recency()
    >>> for account, hour in [("a", 1), ("b", 1), ("c", 2), ("a", 3)]:
    ...     q.push(account, hour)
    >>> q.get("a"), len(q), q.pop_oldest(), q.pop_oldest(), q.pop_oldest(), len(q)
    (3, 3, ('b', 1), ('c', 2), ('a', 3), 0)
    """

    __slots__ = ("_entries", "_runs", "_where")

    def __init__(self) -> None:
        self._where: dict[str, _Run] = {}  # account -> the run holding its place
        self._runs: deque[_Run] = deque()  # oldest first
        self._entries = 0  # entries not popped yet, live or stale

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._where

    def get(self, account_id: str) -> int | None:
        run = self._where.get(account_id)
        return run.hour if run is not None else None

    def push(self, account_id: str, hour: int) -> None:
        """Put ``account_id`` last (inserted or moved), with ``hour``."""
        old = self._where.get(account_id)
        runs = self._runs
        run = runs[-1] if runs else None
        if run is None or run.hour != hour or run is old:
            run = _Run(hour)
            runs.append(run)
        run.accounts.append(account_id)
        run.live += 1
        self._where[account_id] = run
        self._entries += 1
        if old is not None:
            self._left(old)

    def pop_oldest(self) -> tuple[str, int]:
        """Remove and return the first account and its hour (``OrderedDict.popitem(last=False)``)."""
        runs, where = self._runs, self._where
        while runs:
            run = runs[0]
            accounts = run.accounts
            while run.head < len(accounts):
                account_id = accounts[run.head]
                run.head += 1
                self._entries -= 1
                if run.head > 64 and 2 * run.head > len(accounts):  # let the popped entries go
                    del accounts[: run.head]
                    run.head = 0
                if where.get(account_id) is run:
                    del where[account_id]
                    run.live -= 1
                    if run.head == len(accounts):
                        runs.popleft()
                    return account_id, run.hour
            runs.popleft()
        raise KeyError("pop_oldest(): empty")

    def remove(self, account_id: str) -> None:
        """Drop ``account_id`` (``del``)."""
        self._left(self._where.pop(account_id))

    def _left(self, run: _Run) -> None:
        """An account's entry in ``run`` went stale."""
        run.live -= 1
        if run.live == 0 and run is not self._runs[-1]:  # nothing left to keep: drop it now
            self._entries -= len(run.accounts) - run.head
            self._runs.remove(run)  # runs with live entries are few (hours with accounts last seen)
        if self._entries > 2 * len(self._where) + 64:
            self._compact()

    def _compact(self) -> None:
        where, runs = self._where, deque()
        for run in self._runs:
            live = [a for a in run.accounts[run.head :] if where.get(a) is run]
            if live:
                kept = _Run(run.hour)
                kept.accounts, kept.live = live, len(live)
                for account_id in live:
                    where[account_id] = kept
                runs.append(kept)
        self._runs = runs
        self._entries = len(where)


class AccountBudget:
    """Which accounts are tracked, and which to shed beyond ``max_accounts``.

    Parameters
    ----------
    max_accounts
        Accounts tracked at most.
    holds
        Called with an account id: True when some detector must keep it (an open episode).
    """

    __slots__ = ("_established", "_hour", "_probation", "holds", "max_accounts", "shed")

    def __init__(self, max_accounts: int = 250_000, holds: Callable[[str], bool] | None = None):
        if int(max_accounts) != max_accounts or max_accounts < 1:
            raise ValueError(f"max_accounts must be an integer >= 1, got {max_accounts!r}")
        self.max_accounts = int(max_accounts)
        self.holds = holds
        # Recency queues, not dicts: taking the oldest from the front of a plain dict that many were
        # deleted from scans the deleted slots; not OrderedDicts either, which cost twice the memory.
        self._probation = _Recency()  # account -> hour first seen, oldest first
        self._established = _Recency()  # account -> hour last seen, oldest first
        self.shed = 0  # accounts shed so far
        self._hour = -1  # the newest hour seen: one int object shared by the accounts seen in it

    def __len__(self) -> int:
        return len(self._probation) + len(self._established)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._established or account_id in self._probation

    def admit(self, account_id: str, ts: float) -> str | None:
        """Note ``account_id`` seen at event time ``ts``; return an account to shed, if one must go."""
        hour = int(ts // _HOUR)
        if hour == self._hour:
            hour = self._hour
        elif hour > self._hour:
            self._hour = hour
        established = self._established
        last = established.get(account_id)
        if last is not None:
            if hour > last:  # refresh its place in the recency order (at most once an hour)
                established.push(account_id, hour)
            return None
        probation = self._probation
        first = probation.get(account_id)
        if first is not None:
            if hour > first:  # back in a later hour: a real, returning account
                probation.remove(account_id)
                if not probation:  # a dict keeps its largest size: let the emptied queue go
                    self._probation = _Recency()
                established.push(account_id, hour)
            return None
        probation.push(account_id, hour)
        if len(probation) + len(established) <= self.max_accounts:
            return None
        return self._shed_one(account_id)
    def _shed_one(self, keep: str) -> str:
        skipped = 0
        while True:
            pool = self._probation if len(self._probation) > (keep in self._probation) else self._established
            victim, hour = pool.pop_oldest()  # never ``keep``: it is the newest on probation
            if skipped < _SKIP_HELD and self.holds is not None and self.holds(victim):
                skipped += 1
                self._established.push(victim, hour)  # held: to the back, and try the next one
                continue
            self.shed += 1
            return victim
