"""The flood alert: one account filing many tickets, routed to its owner, never a page."""

from __future__ import annotations

from detectors.flood_state import FloodEpisode
from schemas.alerts import Alert

__all__ = ["flood_alert"]


def flood_alert(account_id: str, episode: FloodEpisode, status: str, at: float, owner: str | None,
                tier: str | None) -> Alert:  # fmt: skip
    """The alert for ``episode`` of ``account_id`` with ``status``, decided at event time ``at``."""
    features = dict(sorted(episode.features.items(), key=lambda kv: (-kv[1], kv[0])))
    top = ", ".join(list(features)[:3]) or "various features"
    return Alert(
        kind="flood",
        status=status,
        dedup_key=episode.key,
        severity="warning",
        pages=False,
        summary=(
            f"account {account_id} filed {episode.tickets} tickets (≈{episode.expected:.1f} expected "
            f"per hour) about {top}" + (f"; owner {owner}" if owner else "")
        ),
        feature=next(iter(features), None),
        account_id=account_id,
        tier=tier,
        accounts_affected=1,
        observed=float(episode.tickets),
        expected=round(episode.expected, 3),
        score=round(episode.score, 3),
        evidence={"owner": owner, "features": features, "sample_ticket_ids": list(episode.samples)},
        started_at=episode.start,
        event_time=at,
    )
