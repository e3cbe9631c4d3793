"""Breadth: a regression alarm counts only when many accounts carry it, not one.

**Breadth.** Each account counts at most ``max_per_account`` tickets per ``cap_horizon``, an alarm
needs ``min_accounts`` distinct accounts since its excursion began, and no single account may carry
it (without its tickets the evidence must still reach half the threshold): one account's flood
cannot page, it is :class:`~detectors.flood.AccountFloodDetector`'s job. Accounts in their first
``new_account_horizon`` (onboarding: many tickets on the setup features for days) are not counted.

Examples
--------
>>> from detectors.feature_rate import FeatureState
>>> state = FeatureState((3.0,))
>>> state.windows = {7: {"a": 9, "b": 1}, 8: {"a": 9}}
>>> state.expected.extend([0.5, 0.5]); state.expected_end = 8
>>> broad_alarm(state, (0, 7), 8, span=72, max_per_account=5, min_accounts=2, shifts=(3.0,),
...             threshold=4.0) is None  # "a" alone carries it
True
"""

from __future__ import annotations

import math

from detectors.feature_rate import FeatureState

__all__ = ["WITHOUT_TOP", "broad_alarm"]

WITHOUT_TOP = 0.5  # share of the threshold the evidence keeps without its busiest account


def broad_alarm(state: FeatureState, alarm: tuple[int, int] | None, w: int, *, span: int,
                max_per_account: int, min_accounts: int, shifts: tuple[float, ...], threshold: float,
                fallback: float | None = None) -> tuple[int, int, set] | None:  # fmt: skip
    """``alarm`` (arm, first window) with the accounts behind it, if it is broad enough.

    Breadth: at least ``min_accounts`` accounts wrote in since the excursion began (at most ``span``
    windows back, through window ``w``), and without the busiest account's tickets the evidence still
    reaches :data:`WITHOUT_TOP` of ``threshold`` (one account's flood is not a regression, even under
    the cap). ``fallback`` is the expectation of windows not closed yet.
    """
    if alarm is None:
        return None
    first = max(alarm[1], w - span + 1)
    per_account: dict[str, int] = {}
    expected = 0.0
    for v in range(first, w + 1):
        for account, n in state.windows.get(v, {}).items():
            per_account[account] = per_account.get(account, 0) + min(n, max_per_account)
        expected += state.expected_of(v, state.expected[-1] if fallback is None else fallback)
    if len(per_account) < min_accounts:
        return None
    r = shifts[alarm[0]]
    without_top = sum(per_account.values()) - max(per_account.values())
    if without_top * math.log(r) - expected * (r - 1.0) < WITHOUT_TOP * threshold:
        return None
    return alarm[0], alarm[1], set(per_account)
