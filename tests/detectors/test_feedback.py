import pytest

from detectors.feedback import FeedbackPolicy
from schemas.alerts import Alert
from schemas.feedback import AlertLabel, CustomerAction, Silence

T0 = 1_772_668_800.0
DAY = 86_400.0


def regression(key: str, feature: str = "login", start: float = T0, at: float = T0 + 600) -> Alert:
    return Alert(kind="regression", severity="critical", pages=True, dedup_key=key, summary="up",
                 feature=feature, release="v1", started_at=start, event_time=at)  # fmt: skip


def label(key: str, what: str, at: float, **extra) -> AlertLabel:
    return AlertLabel(dedup_key=key, label=what, time=at, **extra)


@pytest.mark.parametrize(
    "kwargs", [{"false_alarm_step": 0}, {"max_factor": 0.5}, {"half_life": 0}, {"memory": -1}]
)
def test_bad_arguments_are_rejected_by_name(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FeedbackPolicy(**kwargs)


def test_false_alarms_raise_the_threshold_boundedly_and_the_effect_decays():
    policy = FeedbackPolicy(false_alarm_step=0.5, max_factor=2.0, half_life=DAY)
    for i in range(5):
        key = f"regression:login:{i}"
        policy.observe(regression(key, at=T0 + i))
        policy.apply(label(key, "false-alarm", T0 + i))
    assert policy.threshold_factor("login", at=T0 + 5) == pytest.approx(2.0, abs=1e-3)  # capped
    assert policy.threshold_factor("login", at=T0 + 4 + DAY) == pytest.approx(1.5, abs=1e-3)
    assert policy.threshold_factor("login", at=T0 + 30 * DAY) < 1.001
    assert policy.threshold_factor("sso", at=T0) == 1.0


def test_a_label_sent_before_its_alert_is_applied_when_the_alert_arrives():
    policy = FeedbackPolicy()
    policy.apply(label("regression:sso:x", "false-alarm", T0))
    assert policy.threshold_factor("sso", at=T0) == 1.0
    policy.observe(regression("regression:sso:x", feature="sso", start=T0 - 600, at=T0))
    assert policy.threshold_factor("sso", at=T0) > 1.0
    assert policy.excluded("sso", T0 - 300)
    # a later emission of the same incident does not apply the label a second time
    factor = policy.threshold_factor("sso", at=T0)
    policy.observe(regression("regression:sso:x", feature="sso", start=T0 - 600, at=T0 + 60))
    assert policy.threshold_factor("sso", at=T0) == factor


def test_expected_label_stops_pages_for_the_feature_until_its_end_but_keeps_the_alert():
    policy = FeedbackPolicy()
    policy.observe(regression("regression:imports:a", feature="imports"))
    policy.apply(label("regression:imports:a", "expected", T0 + 700, until=T0 + 3 * 3600))
    inside = policy.gate(regression("regression:imports:b", feature="imports", at=T0 + 3600))
    after = policy.gate(regression("regression:imports:c", feature="imports", at=T0 + 4 * 3600))
    other = policy.gate(regression("regression:login:d", feature="login", at=T0 + 3600))
    assert (inside.pages, inside.evidence["paging_suppressed"]) == (False, "expected")
    assert after.pages and other.pages


def test_silences_cover_features_accounts_or_everything_within_their_window():
    policy = FeedbackPolicy()
    policy.apply(Silence(scope="all", start=T0 + DAY, end=T0 + DAY + 600, reason="broker move", time=T0))
    assert (
        policy.gate(regression("a", at=T0 + DAY + 10)).evidence["paging_suppressed"] == "silence: broker move"
    )
    assert policy.gate(regression("b", at=T0 + DAY + 600)).pages
    flood = Alert(kind="flood", severity="warning", pages=False, dedup_key="flood:acme", summary="s",
                  account_id="acme", started_at=T0, event_time=T0)  # fmt: skip
    assert policy.gate(flood) == flood  # nothing to suppress on an alert that does not page


def test_new_normal_is_handed_out_once():
    policy = FeedbackPolicy()
    policy.observe(regression("k", feature="search"))
    policy.apply(label("k", "new-normal", T0 + 700))
    assert policy.take_new_normal() == ["search"]
    assert policy.take_new_normal() == []


def test_actions_and_labels_are_readable_and_the_latest_wins():
    policy = FeedbackPolicy()
    assert policy.action("churn_risk:acme:1") == "open"
    policy.apply(CustomerAction(dedup_key="churn_risk:acme:1", action="contacted", time=T0))
    policy.apply(CustomerAction(dedup_key="churn_risk:acme:1", action="saved", time=T0 + DAY))
    assert policy.action("churn_risk:acme:1") == "saved"
    policy.apply(label("k", "confirmed", T0))
    assert policy.label("k") == "confirmed" and policy.label("other") is None


def test_state_stays_bounded_by_memory():
    policy = FeedbackPolicy(memory=DAY)
    for i in range(2_000):
        at = T0 + i * 3600
        policy.observe(regression(f"regression:f{i % 7}:{i}", feature=f"f{i % 7}", start=at, at=at))
        policy.apply(label(f"regression:f{i % 7}:{i}", "false-alarm", at))
    assert policy.state_size <= 2 * 26
    assert policy.threshold_factor("f0", at=T0 + 2_000 * 3600) <= policy.max_factor


def test_churn_risk_alerts_carry_the_customer_success_state():
    policy = FeedbackPolicy()

    def churn(at: float) -> Alert:
        return Alert(kind="churn_risk", severity="warning", status="updated", pages=False,
                     summary="fell", dedup_key="churn_risk:acme:1", account_id="acme",
                     started_at=T0, event_time=at)  # fmt: skip

    assert policy.gate(churn(T0)).evidence["action"] == "open"
    policy.apply(CustomerAction(dedup_key="churn_risk:acme:1", action="contacted", time=T0 + 60))
    assert policy.gate(churn(T0 + DAY)).evidence["action"] == "contacted"
