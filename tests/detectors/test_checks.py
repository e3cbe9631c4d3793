"""Checks every detector in the package must pass, whatever it detects (River's ``check_estimator`` idea).

The detectors are found in ``detectors.__all__``; each is fed observations of its ``observation_kind``:
contract events for ``"event"`` detectors (``"any"`` too), ``(t, value)`` pairs for ``"series"`` ones.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import pickle
import random

import pytest

import detectors
from detectors.base import Detector
from schemas.events import AccountEvent, ReleaseEvent, TicketEvent, UsageEvent

T0 = 1_772_409_600.0  # Monday 2026-03-02 00:00 UTC
DAY = 86_400.0

DETECTORS = sorted(
    (
        obj
        for obj in (getattr(detectors, name) for name in detectors.__all__)
        if isinstance(obj, type) and issubclass(obj, Detector) and not inspect.isabstract(obj)
    ),
    key=lambda cls: cls.__name__,
)


def event_stream(prefix: str, start: float, days: float, accounts: int = 4, seed: int = 0) -> list:
    """Usage every two hours, a ticket or two a day, a weekly account snapshot, a release a day."""
    rng = random.Random(seed)
    names = [f"{prefix}-{i}" for i in range(accounts)]
    features = [f"{prefix}-feature-{i}" for i in range(2)]
    events: list = []
    for hour in range(0, int(days * 24), 2):
        ts = start + hour * 3600
        for i, account in enumerate(names):
            events.append(UsageEvent(account_id=account, count=10 + i + rng.randrange(5), time=ts + i))
            if rng.random() < 0.08:
                events.append(TicketEvent(ticket_id=f"{account}-{hour}", account_id=account,
                                          feature=rng.choice(features), time=ts + 60 + i))
            if hour % (24 * 7) == 0:
                events.append(AccountEvent(account_id=account, mrr=100.0 * (i + 1), seats=10,
                                           seats_used=5 + i, tier="business", owner=f"owner-{i}",
                                           time=ts + 120 + i))
        if hour % 24 == 12:
            events.append(ReleaseEvent(version=f"{prefix}-{hour}", features=[rng.choice(features)], time=ts))
    return events


def series_stream(start: float, n: int, seed: int = 0) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(start + 300 * i, 10 + 3 * math.sin(i / 12) + rng.gauss(0, 1)) for i in range(n)]


def observations(cls: type, n_days: float = 10.0, prefix: str = "k", start: float = T0) -> list:
    if cls.observation_kind == "series":
        return series_stream(start, int(n_days * 288))
    return event_stream(prefix, start, n_days)


def feed(detector: Detector, xs: list) -> list:
    alerts = []
    for x in xs:
        detector.learn_one(x)
        ts = x[0] if isinstance(x, tuple) else x.ts
        alerts += detector.advance(ts - 600)
    return alerts


def state_of(detector: Detector) -> bytes:
    return pickle.dumps(detector.__dict__)


@pytest.fixture(params=DETECTORS, ids=lambda cls: cls.__name__)
def cls(request):
    return request.param


def test_the_package_exports_every_detector():
    names = {cls.__name__ for cls in DETECTORS}
    assert {"BreadthSpikeDetector", "AccountFloodDetector"} <= names


def test_is_default_constructible_and_scores_before_learning(cls):
    detector = cls()
    for x in observations(cls, n_days=1)[:50]:
        score = detector.score_one(x)
        assert isinstance(score, float | int) and math.isfinite(score)
    assert detector.advance(T0) == []


def test_score_one_changes_neither_state_nor_input(cls):
    detector = cls()
    xs = observations(cls, n_days=4)
    feed(detector, xs[: len(xs) // 2])
    before = state_of(detector)
    for x in xs[len(xs) // 2 : len(xs) // 2 + 100]:
        copied = copy.deepcopy(x)
        detector.score_one(x)
        assert x == copied
    assert state_of(detector) == before


def test_learn_one_does_not_mutate_its_input(cls):
    detector = cls()
    for x in observations(cls, n_days=2):
        copied = copy.deepcopy(x)
        detector.learn_one(x)
        assert x == copied


def test_dict_input_is_not_mutated(cls):
    """A detector may be handed a plain dict (a decoded message): it may reject it, never modify it."""
    detector = cls()
    x = {"type": "ticket", "ticket_id": "T-1", "account_id": "a", "feature": "f", "ts": T0, "count": 1}
    copied = copy.deepcopy(x)
    for method in (detector.score_one, detector.learn_one):
        with contextlib.suppress(TypeError, AttributeError, KeyError, ValueError):
            method(x)
        assert x == copied


def test_state_stops_growing_when_the_same_keys_repeat(cls):
    detector = cls()
    xs = observations(cls, n_days=45)
    third = len(xs) // 3
    feed(detector, xs[:third])
    size_after_a_third = detector.state_size
    feed(detector, xs[third:])
    assert detector.state_size <= max(size_after_a_third, 1)


def test_idle_keys_are_evicted(cls):
    detector = cls()
    feed(detector, observations(cls, n_days=20, prefix="old"))
    assert b"old-" in state_of(detector) or cls.observation_kind == "series"
    feed(detector, observations(cls, n_days=100, prefix="new", start=T0 + 21 * DAY))
    assert b"old-" not in state_of(detector), "keys idle for 100 days must be forgotten"


def test_clone_is_an_unfitted_copy_with_the_same_parameters(cls):
    detector = cls()
    xs = observations(cls, n_days=3)
    feed(detector, xs)
    clone = detector.clone()
    assert type(clone) is cls and clone is not detector
    assert clone._get_params() == detector._get_params()
    assert clone.state_size == cls().state_size
    assert [clone.score_one(x) for x in xs[:50]] == [cls().score_one(x) for x in xs[:50]]
    assert state_of(detector) == state_of(detector)  # cloning did not touch the original


def numeric_parameters(cls: type) -> list[str]:
    signature = inspect.signature(cls.__init__)
    return [
        name
        for name, p in signature.parameters.items()
        if isinstance(p.default, int | float) and not isinstance(p.default, bool)
    ]


def test_negative_numeric_arguments_are_rejected_by_name(cls):
    for name in numeric_parameters(cls):
        with pytest.raises(ValueError, match=name):
            cls(**{name: -1})
