import random

import pytest

from detectors.budget import AccountBudget


def test_one_off_ids_shed_each_other_before_returning_accounts():
    budget = AccountBudget(max_accounts=10)
    for a in range(5):
        budget.admit(f"real-{a}", 0.0)
        budget.admit(f"real-{a}", 3_600.0)  # back an hour later: established
    shed = [budget.admit(f"x{i}", 3_700.0 + i) for i in range(1_000)]
    assert all(f"real-{a}" in budget for a in range(5))
    assert len(budget) == 10
    assert budget.shed == 995
    assert set(filter(None, shed)) == {f"x{i}" for i in range(995)}


def test_least_recently_seen_established_account_goes_when_probation_is_empty():
    budget = AccountBudget(max_accounts=3)
    for hour, accounts in enumerate([["a", "b", "c"], ["a", "b", "c"], ["b", "c"]]):
        for account in accounts:
            assert budget.admit(account, hour * 3_600.0) is None
    assert budget.admit("d", 3 * 3_600.0) == "a"


def test_held_accounts_are_skipped():
    held = {"x0"}
    budget = AccountBudget(max_accounts=2, holds=held.__contains__)
    budget.admit("x0", 0.0)
    budget.admit("x1", 1.0)
    assert budget.admit("x2", 2.0) == "x1"
    assert "x0" in budget


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_bad_cap_is_rejected(bad):
    with pytest.raises(ValueError, match="max_accounts"):
        AccountBudget(max_accounts=bad)


class OrderedDictBudget:
    """The reference: the same rules on two ``OrderedDict`` (what AccountBudget kept before its queues)."""

    def __init__(self, max_accounts, holds=None):
        from collections import OrderedDict

        self.max_accounts, self.holds, self.shed = max_accounts, holds, 0
        self.probation, self.established = OrderedDict(), OrderedDict()

    def admit(self, account_id, ts):
        hour = int(ts // 3600.0)
        last = self.established.get(account_id)
        if last is not None:
            if hour > last:
                self.established[account_id] = hour
                self.established.move_to_end(account_id)
            return None
        first = self.probation.get(account_id)
        if first is not None:
            if hour > first:
                del self.probation[account_id]
                self.established[account_id] = hour
            return None
        self.probation[account_id] = hour
        if len(self.probation) + len(self.established) <= self.max_accounts:
            return None
        skipped = 0
        while True:
            on_probation = len(self.probation) > (account_id in self.probation)
            pool = self.probation if on_probation else self.established
            victim, hour = pool.popitem(last=False)
            if skipped < 16 and self.holds is not None and self.holds(victim):
                skipped += 1
                self.established[victim] = hour
                continue
            self.shed += 1
            return victim


@pytest.mark.parametrize("seed", range(20))
def test_sheds_exactly_like_two_ordered_dicts(seed):
    rng = random.Random(seed)
    n_ids = rng.choice([3, 10, 40, 300])
    held = set(rng.sample(range(n_ids), k=rng.randrange(0, min(n_ids, 20))))
    cap = rng.choice([1, 2, 5, 20, 100])
    budget = AccountBudget(cap, holds=lambda a: int(a[1:]) in held)
    reference = OrderedDictBudget(cap, holds=lambda a: int(a[1:]) in held)
    ts = 0.0
    for _ in range(3_000):
        ts += rng.expovariate(1 / rng.choice([10.0, 600.0, 3600.0]))
        when = ts - rng.random() * 2000 if rng.random() < 0.1 else ts  # some late events
        account = f"a{int(rng.paretovariate(1.2)) % n_ids if rng.random() < 0.7 else rng.randrange(n_ids)}"
        if rng.random() < 0.05:
            held ^= {rng.randrange(n_ids)}
        assert budget.admit(account, when) == reference.admit(account, when)
        assert len(budget) == len(reference.probation) + len(reference.established)
    assert budget.shed == reference.shed
    pairs = ((budget._probation, reference.probation), (budget._established, reference.established))
    for queue, ordered in pairs:
        drained = [queue.pop_oldest() for _ in range(len(queue))]
        assert drained == list(ordered.items())
