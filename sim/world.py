"""The simulated SaaS world: features, accounts of very different sizes, and seasonality.

Activity of an account in an hour is ``seats_used × engagement × season(hour)``; usage counts and
tickets are Poisson draws proportional to it. Seats are heavy-tailed (a few enterprise accounts
dominate volume), and the season has business hours and quiet weekends, which is what makes naive
thresholds on raw counts page every Monday morning.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.config import SimConfig

__all__ = ["FEATURE_NAMES", "TIERS", "World", "build_world", "season"]

FEATURE_NAMES: tuple[str, ...] = (
    "checkout", "billing", "login", "sso", "search", "reports", "dashboards", "exports", "imports",
    "api", "webhooks", "notifications", "integrations", "mobile-app", "calendar", "permissions",
    "audit-log", "invoices", "onboarding", "analytics", "chat", "file-upload", "workflows",
    "scheduling", "email-digest", "custom-fields", "data-sync", "admin-console", "sharing", "comments",
)  # fmt: skip

TIERS: tuple[str, ...] = ("enterprise", "business", "self-serve")
_TIER_SHARE = (0.08, 0.30, 0.62)
_TIER_LOG_SEATS = (np.log(180.0), np.log(35.0), np.log(4.0))
_TIER_PRICE = (55.0, 28.0, 12.0)
_OWNERS = ("csm-ana", "csm-bo", "csm-chen", "csm-dara", "csm-eli", "csm-fay")

#: Days the stream has no incident of any kind while detectors learn their baselines.
WARMUP_DAYS = 7


def season(hours: np.ndarray) -> np.ndarray:
    """Relative activity for hour indices counted from a Monday midnight UTC.

    Business hours peak mid-afternoon UTC (Europe and the Americas overlap); nights keep a trickle;
    weekends run at about a quarter of a weekday.

    Examples
    --------
    >>> s = season(np.array([3, 14, 14 + 24 * 5]))
    >>> bool(s[1] > 5 * s[0]) and bool(s[2] < 0.3 * s[1])
    True
    """
    hour_of_day = np.asarray(hours) % 24 + 0.5
    day_of_week = (np.asarray(hours) // 24) % 7
    daily = 0.06 + np.exp(-(((hour_of_day - 14.0) / 3.8) ** 2))
    weekly = np.where(day_of_week >= 5, 0.25, 1.0)
    return daily * weekly


@dataclasses.dataclass
class World:
    """Static description of the world at the start of the stream (arrays indexed by account)."""

    config: SimConfig
    features: list[str]
    feature_weight: np.ndarray
    account_id: list[str]
    tier: np.ndarray
    seats: np.ndarray
    seats_used: np.ndarray
    mrr: np.ndarray
    engagement: np.ndarray
    propensity: np.ndarray
    renewal_date: list[str]
    owner: list[str]
    created_hour: np.ndarray
    ticket_scale: float

    @property
    def n_accounts(self) -> int:
        """Number of accounts, including the one created mid-stream."""
        return len(self.account_id)

    def tier_name(self, index: int) -> str:
        """Tier of account ``index``."""
        return TIERS[int(self.tier[index])]


def build_world(config: SimConfig) -> World:
    """Draw the features and accounts of ``config`` (deterministic in ``config.seed``).

    One extra account (the last) is created mid-stream; its creation hour is set by the incident plan.

    Examples
    --------
    >>> w = build_world(SimConfig(seed=1, days=14, accounts=60, features=12))
    >>> w.n_accounts, len(w.features)
    (61, 12)
    >>> bool(abs(w.feature_weight.sum() - 1.0) < 1e-9)
    True
    """
    rng = np.random.default_rng([config.seed, 1])
    features = list(FEATURE_NAMES[: config.features])
    # A few features carry most tickets (checkout, login...) and a long tail carries the rest.
    weight = rng.gamma(1.5, 1.0, size=config.features)
    weight /= weight.sum()

    n = config.accounts + 1
    tier = rng.choice(len(TIERS), size=n, p=_TIER_SHARE)
    tier[-1] = 1  # the onboarding account is a business customer
    log_seats = np.array(_TIER_LOG_SEATS)[tier] + rng.normal(0.0, 0.7, size=n)
    seats = np.maximum(1, np.round(np.exp(log_seats))).astype(np.int64)
    used_share = rng.uniform(0.45, 0.9, size=n)
    seats_used = np.maximum(1, np.round(seats * used_share)).astype(np.int64)
    seats_used = np.minimum(seats_used, seats)
    mrr = np.round(seats * np.array(_TIER_PRICE)[tier] * rng.uniform(0.8, 1.2, size=n), 2)
    engagement = rng.lognormal(0.0, 0.3, size=n)
    propensity = rng.lognormal(0.0, 0.5, size=n)
    start_day = np.datetime64(config.start.replace("Z", ""), "D")
    renewal = start_day + rng.integers(20, 365, size=n).astype("timedelta64[D]")
    owners = [
        "self-serve-pool" if t == 2 else _OWNERS[int(k)]
        for t, k in zip(tier, rng.integers(0, len(_OWNERS), size=n), strict=True)
    ]
    created = np.zeros(n, dtype=np.int64)

    # Scale tickets so an ordinary weekday averages `tickets_per_account_day` per account.
    weekday = season(np.arange(24)).sum()
    per_account = engagement[:-1] * seats_used[:-1] * propensity[:-1]
    ticket_scale = config.tickets_per_account_day * config.accounts / (per_account.sum() * weekday)
    return World(
        config=config,
        features=features,
        feature_weight=weight,
        account_id=[f"acct-{i:05d}" for i in range(n)],
        tier=tier,
        seats=seats,
        seats_used=seats_used,
        mrr=mrr,
        engagement=engagement,
        propensity=propensity,
        renewal_date=[str(d) for d in renewal],
        owner=owners,
        created_hour=created,
        ticket_scale=float(ticket_scale),
    )
