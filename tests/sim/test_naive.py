from __future__ import annotations

import pytest

from schemas.parse import parse_event
from sim.naive import NaiveBaseline

T0 = 1772409600  # a Monday


def _ticket(i: int, ts: float, feature: str = "sso", account: str = "a"):
    raw = f'{{"type":"ticket","ticket_id":"t{i}","account_id":"{account}","feature":"{feature}","time":{ts}}}'
    return parse_event(raw.encode())


def _usage(account: str, ts: float, count: int):
    return parse_event(f'{{"type":"usage","account_id":"{account}","count":{count},"time":{ts}}}'.encode())


def test_pages_once_per_episode_and_names_a_recent_release():
    naive = NaiveBaseline(k=3.0)
    alerts = []
    for h in range(100):
        alerts += naive.process(_ticket(h, T0 + h * 3600 + 10))
    alerts += naive.process(parse_event(
        f'{{"type":"release","version":"v9","features":["sso"],"time":{T0 + 100 * 3600}}}'.encode()))
    for i in range(40):  # two bad hours in a row: one page
        alerts += naive.process(_ticket(1000 + i, T0 + 100 * 3600 + 180 * i))
    alerts += naive.flush()
    assert [(a.kind, a.feature, a.release, a.pages) for a in alerts] == [("regression", "sso", "v9", True)]


def test_flags_an_account_whose_daily_usage_collapses():
    naive = NaiveBaseline(churn_fraction=0.25)
    alerts = []
    for day in range(20):
        for account in ("steady", "leaving"):
            count = 10 if account == "leaving" and day >= 15 else 100
            alerts += naive.process(_usage(account, T0 + day * 86400 + 3600, count))
    alerts += naive.flush()
    assert [(a.kind, a.account_id) for a in alerts] == [("churn_risk", "leaving")]


@pytest.mark.parametrize("argument", [{"k": 0}, {"churn_fraction": 1.5}, {"history_days": 3},
                                      {"history_hours": 1}])
def test_rejects_bad_arguments(argument):
    with pytest.raises(ValueError, match=next(iter(argument))):
        NaiveBaseline(**argument)
