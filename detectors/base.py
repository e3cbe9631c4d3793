"""Base class shared by every detector.

A detector is a deterministic function of the events it has learnt, in event time. It follows River's
conventions: ``learn_one`` updates state, ``score_one`` reads it without changing it, and a higher
score means more anomalous. Detectors that raise alerts do so from ``advance``, which moves their
event-time clock forward (closing windows, days, episodes) and returns the alerts that this produced.

Event detectors may also offer ``learn_<kind>(event, ts)`` for the event kinds they use (``learn_usage``,
``learn_ticket``, ``learn_release``, ``learn_account``), ``ts`` being ``event.ts``: the engine computes
it once per event and calls only those methods, so a kind a detector has no method for costs it
nothing. ``learn_one`` stays the same learning for any caller.

Constructor arguments are kept as public attributes of the same name; derived state is private and
bad arguments are rejected in ``__init__`` with a ``ValueError`` that names the argument.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

__all__ = ["Detector"]


class Detector(abc.ABC):
    """Online detector over a stream of observations in event time.

    Subclasses implement :meth:`learn_one` and :meth:`score_one`; those that emit alerts override
    :meth:`advance`. ``x`` is whatever the detector observes: an event model from :mod:`schemas`,
    or a ``(timestamp, value)`` pair for series detectors.

    Examples
    --------
    >>> class CountAbove(Detector):
    ...     def __init__(self, limit: int = 3):
    ...         if limit < 1:
    ...             raise ValueError("limit must be >= 1")
    ...         self.limit = limit
    ...         self._n = 0
    ...     def learn_one(self, x):
    ...         self._n += 1
    ...     def score_one(self, x):
    ...         return float(self._n >= self.limit)
    >>> d = CountAbove(limit=2)
    >>> d.score_one("a")
    0.0
    >>> d.learn_one("a"); d.learn_one("b")
    >>> d.score_one("c")
    1.0
    >>> d.advance(0.0)
    []
    >>> d.state_size
    0
    """

    #: Kind of the example observation used by the generic check suite in ``tests/detectors``.
    observation_kind: ClassVar[str] = "any"

    @abc.abstractmethod
    def learn_one(self, x: Any) -> None:
        """Update the detector's state with one observation."""

    @abc.abstractmethod
    def score_one(self, x: Any) -> float:
        """Return how anomalous ``x`` is given the state so far; higher is more anomalous.

        Must not change the detector's state and must work before anything was learnt.
        """

    def advance(self, watermark: float) -> list:
        """Move event time to ``watermark`` (epoch seconds) and return the alerts this produced."""
        return []

    def flush(self) -> list:
        """End of stream: close every open window, day or episode and return the alerts this produced."""
        return []

    def forget_account(self, account_id: str) -> None:
        """Drop what is kept about ``account_id`` (the engine sheds accounts beyond its cap)."""
        return None

    def holds_account(self, account_id: str) -> bool:
        """True while an open episode of ``account_id`` must still be updated and resolved."""
        return False

    @property
    def is_warm(self) -> bool:
        """True once the detector has seen enough history to alert."""
        return True

    @property
    def state_size(self) -> int:
        """Number of keys (accounts, features, windows...) held; must stay bounded."""
        return 0

    def _get_params(self) -> dict[str, Any]:
        """Constructor arguments, read back from the public attributes of the same name."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names if hasattr(self, name)}

    def clone(self) -> Detector:
        """A fresh detector with the same parameters and no learnt state."""
        return type(self)(**self._get_params())

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._get_params().items())
        return f"{type(self).__name__}({params})"
