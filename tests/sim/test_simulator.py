from __future__ import annotations

import collections

import numpy as np
import orjson
import pytest

from schemas.parse import Rejection, parse_event
from sim.config import SimConfig
from sim.intensity import TrueIntensity
from sim.simulator import simulate
from tests.sim.conftest import SMALL


def _events(sim):
    return [parse_event(line) for line in sim.lines]


def test_same_seed_gives_the_same_stream_and_labels(small_sim):
    again = simulate(SMALL)
    assert again.lines == small_sim.lines
    assert again.labels.to_dict() == small_sim.labels.to_dict()


def test_different_seeds_give_different_streams(small_sim):
    other = simulate(SMALL.replace(seed=2))
    assert other.lines != small_sim.lines
    assert [i.start for i in other.labels.incidents] != [i.start for i in small_sim.labels.incidents]


def test_every_line_parses_as_an_event(small_sim):
    events = _events(small_sim)
    rejected = [e for e in events if isinstance(e, Rejection)]
    assert rejected == []
    kinds = collections.Counter(e.type for e in events)
    assert set(kinds) == {"ticket", "usage", "account", "release"}
    assert kinds["usage"] > kinds["ticket"] > kinds["release"]


def test_duplicates_late_and_out_of_order_events_are_present(small_sim):
    events = _events(small_sim)
    ids = collections.Counter(e.ticket_id for e in events if e.type == "ticket")
    assert sum(n - 1 for n in ids.values()) == small_sim.labels.stream["duplicate_ticket"] > 0
    max_seen, lags = -np.inf, []
    for e in events:
        lags.append(max_seen - e.ts)
        max_seen = max(max_seen, e.ts)
    lags = np.array(lags)
    assert (lags > 60).sum() > 0  # late by more than a minute
    assert (lags > 0).sum() > (lags > 60).sum()  # and small shuffles
    assert lags.max() <= small_sim.config.max_lateness_s + 120  # late only within ~10 minutes


def test_regressions_raise_tickets_on_their_feature_as_labelled():
    busy = simulate(SMALL.replace(tickets_per_account_day=60.0))  # enough tickets to see the regressions
    intensity = TrueIntensity.from_config(busy.config)
    tickets = {e.ticket_id: e for e in _events(busy) if e.type == "ticket"}.values()
    observed = with_regressions = without = 0.0
    for inc in busy.labels.of_kind("regression"):
        observed += sum(t.feature == inc.feature and inc.start <= t.ts < inc.end for t in tickets)
        lo, hi = (int((x - busy.config.start_ts) // 60) for x in (inc.start, inc.end))
        with_regressions += intensity.minute_counts(inc.feature)[lo:hi].sum()
        without += intensity.minute_counts(inc.feature, exclude=("regression",))[lo:hi].sum()
    assert observed > without + 3 * without**0.5
    assert abs(observed - with_regressions) < 4 * with_regressions**0.5


def test_quiet_incidents_show_in_the_stream(small_sim):
    events = _events(small_sim)
    usage = [e for e in events if e.type == "usage"]
    (gap,) = small_sim.labels.of_kind("ingestion_gap")
    assert not any(gap.start <= e.ts < gap.end for e in usage)
    assert any(gap.start <= e.ts < gap.end for e in events if e.type == "ticket")
    (holiday,) = small_sim.labels.of_kind("holiday")
    week = 7 * 86400.0
    on_holiday = sum(e.count for e in usage if holiday.start < e.ts <= holiday.end)
    week_before = sum(e.count for e in usage if holiday.start - week < e.ts <= holiday.end - week)
    assert on_holiday < 0.4 * week_before
    for flood in small_sim.labels.of_kind("flood"):
        n = sum(e.type == "ticket" and e.account_id == flood.account_id and flood.start <= e.ts <= flood.end
                for e in events)
        assert n >= flood.size


def test_churners_fall_silent_and_expanders_fill_their_seats(small_sim):
    events = _events(small_sim)
    for churn in small_sim.labels.of_kind("churn"):
        per_day = collections.Counter()
        for e in events:
            if e.type == "usage" and e.account_id == churn.account_id:
                per_day[int(e.ts // 86400)] += e.count
        before = max(per_day[d] for d in per_day if d < churn.start // 86400)
        after = [per_day[d] for d in range(int(churn.end // 86400) + 1, int(max(per_day)) + 1)]
        assert all(n < 0.6 * before for n in after)
    for exp in small_sim.labels.of_kind("expansion"):
        profiles = [e for e in events if e.type == "account" and e.account_id == exp.account_id]
        assert profiles[-1].seats_used > profiles[0].seats_used
        assert profiles[-1].seats_used <= profiles[-1].seats


def test_onboarding_account_appears_mid_stream_with_many_tickets(small_sim):
    (onb,) = small_sim.labels.of_kind("onboarding")
    events = [e for e in _events(small_sim) if getattr(e, "account_id", None) == onb.account_id]
    assert min(e.ts for e in events) >= onb.start
    tickets = sum(e.type == "ticket" for e in events)
    assert tickets > 3 * small_sim.config.tickets_per_account_day * 4


def test_labels_file_round_trips_and_rebuilds_the_intensity(small_sim, tmp_path):
    small_sim.write(tmp_path / "s.jsonl", tmp_path / "l.json")
    data = orjson.loads((tmp_path / "l.json").read_bytes())
    kinds = {row["kind"] for row in data["incidents"]}
    assert {"regression", "benign_release", "flood", "drift", "churn", "expansion", "holiday",
            "ingestion_gap", "onboarding"} <= kinds
    assert all({"kind", "feature", "release", "account_id", "start", "end", "size"} <= set(row)
               for row in data["incidents"])
    from sim.labels import load_labels

    labels = load_labels(tmp_path / "l.json")
    rebuilt = TrueIntensity.from_config(labels.config)
    reg = labels.of_kind("regression")[0]
    assert rebuilt.true_ticket_rate(reg.feature, reg.start + 60) > rebuilt.true_ticket_rate(
        reg.feature, reg.start + 60, incidents=False)
    assert len((tmp_path / "s.jsonl").read_bytes().splitlines()) == len(small_sim.lines)


def test_noise_only_world_has_no_incidents_but_the_same_accounts():
    quiet = simulate(SimConfig(seed=1, days=14, accounts=60, incidents=False))
    assert {i.kind for i in quiet.labels.incidents} <= {"benign_release"}
    assert quiet.labels.stream["release"] > 0


def test_usage_can_be_split_by_feature():
    split = simulate(SMALL.replace(usage_per_feature=True, days=3))
    usage = [e for e in (parse_event(line) for line in split.lines) if e.type == "usage"]
    assert {e.feature for e in usage} <= set(split.world.features)
    assert len({e.feature for e in usage}) > 1
    whole = simulate(SMALL.replace(days=3))
    total = sum(e.count for e in (parse_event(line) for line in whole.lines) if e.type == "usage")
    assert sum(e.count for e in usage) == pytest.approx(total, rel=0.1)
