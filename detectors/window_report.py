"""What one closed (feature, window) of the regression detector looked like.

The regression detector passes one :class:`WindowReport` per closed window to its ``on_window``
callback: the backtest plots observed against expected tickets from them, the worker exports them as
metrics.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["WindowReport"]


class WindowReport(NamedTuple):
    """What one closed (feature, window) looked like; passed to the ``on_window`` callback."""

    feature: str
    start: float
    end: float
    observed: int  # tickets, each account capped at max_per_account
    tickets: int  # tickets before the cap
    expected: float
    active_accounts: int
    score: float  # largest CUSUM statistic (nats) after this window
    warm: bool
    gap: bool

