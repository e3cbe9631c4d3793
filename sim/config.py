"""Configuration of one simulated SaaS world and its delivery.

The configuration, with the seed, fully determines the world, its incidents and the event stream, so
it is written into the labels file and the backtest rebuilds the true intensity from it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

__all__ = ["SimConfig"]


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """Parameters of a simulation.

    Parameters
    ----------
    seed
        Seed of every random stream (world, incident plan, event sampling, delivery).
    days
        Length of the stream in days.
    accounts
        Number of accounts at the start (one more appears mid-stream with onboarding friction).
    features
        Number of product features (at most the number of names in :data:`sim.world.FEATURE_NAMES`).
    start
        First instant of the stream (RFC 3339, UTC); a Monday midnight by default.
    tickets_per_account_day
        Mean tickets per account on an ordinary weekday before incidents.
    usage_per_seat_hour
        Mean usage count per active seat in a busy business hour.
    usage_interval_hours
        Usage arrives as one pre-aggregated count per account every this many hours.
    usage_per_feature
        Split each usage count by feature (one event per account, feature and interval).
    profile_interval_days
        Every account's profile (mrr, seats, seats_used...) is sent this often (and on change).
    incidents
        Inject the labelled incidents; ``False`` gives a noise-only world (same accounts and releases).
    duplicate_rate, late_rate, max_lateness_s
        Delivery realism: share of tickets delivered twice, share of events delivered late, and the
        largest lateness in seconds.

    Examples
    --------
    >>> cfg = SimConfig(seed=3, days=14, accounts=60)
    >>> SimConfig.from_dict(cfg.to_dict()) == cfg
    True
    >>> cfg.start_ts
    1772409600.0
    """

    seed: int = 0
    days: int = 35
    accounts: int = 400
    features: int = 20
    start: str = "2026-03-02T00:00:00Z"
    tickets_per_account_day: float = 2.5
    usage_per_seat_hour: float = 16.0
    usage_interval_hours: int = 1
    usage_per_feature: bool = False
    profile_interval_days: int = 1
    incidents: bool = True
    duplicate_rate: float = 0.01
    late_rate: float = 0.02
    max_lateness_s: float = 600.0

    def __post_init__(self) -> None:
        if self.days < 2:
            raise ValueError("days must be >= 2")
        if self.accounts < 10:
            raise ValueError("accounts must be >= 10")
        if not 3 <= self.features <= 30:
            raise ValueError("features must be between 3 and 30")
        if self.usage_interval_hours < 1 or 24 % self.usage_interval_hours:
            raise ValueError("usage_interval_hours must divide 24")
        if self.profile_interval_days < 1:
            raise ValueError("profile_interval_days must be >= 1")
        for name in ("duplicate_rate", "late_rate"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")

    @property
    def start_ts(self) -> float:
        """Start of the stream as epoch seconds."""
        return datetime.fromisoformat(self.start.replace("Z", "+00:00")).astimezone(UTC).timestamp()

    @property
    def hours(self) -> int:
        """Length of the stream in hours."""
        return self.days * 24

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimConfig:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)
