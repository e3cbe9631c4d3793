import pytest

from bench.naive_agent import NaiveBaselines


def test_learns_usage_counts_and_tickets_per_account_and_feature():
    baselines = NaiveBaselines()
    for count in (2, 4, 6):
        usage = b'{"type":"usage","account_id":"a","feature":"sso","count":%d,"time":1772460300}'
        baselines.learn(usage % count)
    baselines.learn(b'{"type":"ticket","ticket_id":"T","account_id":"a","feature":"api","time":1772460300}')
    baselines.learn(b'{"type":"release","version":"1","features":["api"],"time":1772460300}')
    assert baselines.mean("a", "sso") == pytest.approx(4.0)
    assert baselines.mean("a", "api") == pytest.approx(1.0)
    assert baselines.mean("b", "sso") == 0.0
    assert len(baselines) == 2
    assert (baselines.processed, baselines.invalid) == (5, 0)


def test_invalid_records_are_counted_not_raised():
    baselines = NaiveBaselines()
    baselines.learn(b"not json")
    baselines.learn(b'{"type":"usage","account_id":"a","count":-1,"time":1772460300}')
    assert (baselines.processed, baselines.invalid, len(baselines)) == (2, 2, 0)


def test_fading_factor_is_checked():
    with pytest.raises(ValueError, match="fading_factor"):
        NaiveBaselines(fading_factor=0)
