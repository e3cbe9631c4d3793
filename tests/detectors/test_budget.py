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
