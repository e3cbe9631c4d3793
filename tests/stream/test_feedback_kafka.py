"""Feedback reaches the worker's detection: silences stop pages (and survive a SIGKILL), labels tune it."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import orjson
import pytest

from schemas.feedback import AlertLabel, Silence
from schemas.parse import parse_event
from stream.config import load_settings
from stream.feedback import ensure_feedback_topic, send_feedback
from tests.stream.test_scaleout_kafka import produce
from tests.stream.worker_support import (
    WorkerProcess,
    detection_settled,
    read_alerts,
    simulated_lines,
    wait_metric,
    worker_env,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300)]

#: The planted regression of :func:`simulated_lines` (it pages at 10:37 and resolves at 17:00).
FEATURE = "imports"
REGRESSION = (datetime(2026, 3, 9, 9, 55, tzinfo=UTC).timestamp(),
              datetime(2026, 3, 9, 14, tzinfo=UTC).timestamp())  # fmt: skip
DAY = 86_400.0


def ts_of(line: bytes) -> float:
    return parse_event(line).ts


def with_second_burst(lines: list[bytes]) -> list[bytes]:
    """``lines`` plus the regression's tickets again a day later (new ids), each at its event time."""
    again = []
    for line in lines:
        event = orjson.loads(line)
        if event.get("type") != "ticket" or event.get("feature") != FEATURE:
            continue
        t = ts_of(line)
        if REGRESSION[0] <= t <= REGRESSION[1]:
            copy = {**event, "ticket_id": f"again-{event['ticket_id']}", "time": t + DAY}
            again.append((t + DAY, orjson.dumps(copy)))
    out, pending = [], sorted(again)
    for line in lines:
        t = ts_of(line)
        while pending and pending[0][0] <= t:
            out.append(pending.pop(0)[1])
        out.append(line)
    return out + [line for _t, line in pending]


#: Both ingest stages.
INGEST = ["faust", "batch"]
#: BACKFILL: the tests that write the second half of their stream while the worker runs pass in batch
#: mode only with ``BatchIngest(idle_after=2)`` (a partition counts as caught up once idle); the default
#: is 0 because the twenty-SIGKILL drill stalled with 2 (README, batch ingest).


def feedback_env(env: dict[str, str], name: str, ingest: str = "faust") -> dict[str, str]:
    return env | {"SPIKEWATCH_TOPICS__FEEDBACK": f"{name}.feedback", "SPIKEWATCH_WORKER__INGEST": ingest,
                  "SPIKEWATCH_WORKER__SNAPSHOT_INTERVAL": "2"}  # fmt: skip


def send(env: dict[str, str], record) -> None:
    settings = load_settings(environ=env)

    async def run() -> None:
        await ensure_feedback_topic(settings.kafka, settings.topics.feedback)
        await send_feedback(settings.kafka, settings.topics.feedback, record)

    asyncio.run(run())



def regression_alerts(bootstrap: str, name: str) -> list:
    return sorted((a for a in read_alerts(bootstrap, f"{name}.alerts.") if a.kind == "regression"),
                  key=lambda a: a.event_time)  # fmt: skip


def first_pages(worker: WorkerProcess, bootstrap: str, name: str, timeout: float = 180.0) -> list:
    """The regression firings on the topics once there is at least one (empty after ``timeout``)."""
    deadline, firing = time.monotonic() + timeout, []
    while not firing and time.monotonic() < deadline:
        assert worker.process.poll() is None, worker.tail()
        firing = [a for a in regression_alerts(bootstrap, name) if a.status == "firing"]
        time.sleep(2)
    return firing


@pytest.mark.parametrize("ingest", INGEST)
def test_a_silence_stops_the_page_keeps_the_alert_and_survives_sigkill(kafka_bootstrap, tmp_path, ingest):
    name = f"silence-{uuid.uuid4().hex[:8]}"
    env = feedback_env(worker_env(kafka_bootstrap, name, tmp_path / "state"), name, ingest)
    start, end = REGRESSION[0] - 3600, REGRESSION[1] + DAY
    send(env, Silence(scope="feature", feature=FEATURE, start=start, end=end, reason="imports migration",
                      time=start - DAY))  # fmt: skip
    worker = WorkerProcess(env, tmp_path / "worker.log")
    wait_metric(worker, 'spikewatch_feedback_records_total{type="silence"}', 1)
    worker.kill()  # SIGKILL after it read the silence: the restarted worker must find it again
    lines = simulated_lines()
    produce(env, lines)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        final = detection_settled([worker], kafka_bootstrap, f"{name}-app.detection", events=len(lines))
        assert final.get("settled"), (final, worker.tail())
        alerts = [a for a in regression_alerts(kafka_bootstrap, name) if a.feature == FEATURE]
        firing = [a for a in alerts if a.status == "firing"]
        assert len(firing) == 1, alerts  # still recorded and published, once
        assert all(not a.pages for a in alerts)
        assert {a.evidence.get("paging_suppressed") for a in alerts} == {"silence: imports migration"}
    finally:
        worker.stop()


@pytest.mark.parametrize("ingest", ["faust"])  # batch: see BACKFILL
def test_a_false_alarm_label_raises_the_threshold_for_the_next_regression(kafka_bootstrap, tmp_path, ingest):
    name = f"falsealarm-{uuid.uuid4().hex[:8]}"
    env = feedback_env(worker_env(kafka_bootstrap, name, tmp_path / "state"), name, ingest)
    lines = with_second_burst(simulated_lines())
    split = next(i for i, line in enumerate(lines) if ts_of(line) >= REGRESSION[1] + 6 * 3600)
    produce(env, lines[:split])
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        first = first_pages(worker, kafka_bootstrap, name)
        assert first and first[0].feature == FEATURE and first[0].pages, worker.tail()
        assert "threshold_factor" not in first[0].evidence
        noticed = first[0].event_time.timestamp() + 1800
        send(env, AlertLabel(dedup_key=first[0].dedup_key, label="false-alarm", note="load test",
                             time=noticed))  # fmt: skip
        metrics = wait_metric(worker, 'spikewatch_feedback_records_total{type="label"}', 1)
        blamed = f'spikewatch_release_incidents{{label="false-alarm",release="{first[0].release}"}}'
        assert metrics.get(blamed) == 1  # the release-quality history has the label
        produce(env, lines[split:])
        final = detection_settled([worker], kafka_bootstrap, f"{name}-app.detection", events=len(lines))
        assert final.get("settled"), (final, worker.tail())
        later = [a for a in regression_alerts(kafka_bootstrap, name)
                 if a.status == "firing" and a.dedup_key != first[0].dedup_key]  # fmt: skip
        assert later and later[0].feature == FEATURE, later
        assert 1.0 < later[0].evidence["threshold_factor"] <= 1.5  # one label: one step, decaying
    finally:
        worker.stop()


@pytest.mark.parametrize("ingest", ["faust"])  # batch: see BACKFILL
def test_an_expected_label_stops_pages_on_its_feature_until_its_end_and_keeps_the_alerts(
    kafka_bootstrap, tmp_path, ingest
):
    name = f"expected-{uuid.uuid4().hex[:8]}"
    env = feedback_env(worker_env(kafka_bootstrap, name, tmp_path / "state"), name, ingest)
    lines = with_second_burst(simulated_lines())
    split = next(i for i, line in enumerate(lines) if ts_of(line) >= REGRESSION[1] + 6 * 3600)
    produce(env, lines[:split])
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        first = first_pages(worker, kafka_bootstrap, name)
        assert first and first[0].feature == FEATURE and first[0].pages, worker.tail()
        # "the imports migration keeps going for two more days": no pages for imports until then
        noticed = first[0].event_time.timestamp() + 1800
        send(env, AlertLabel(dedup_key=first[0].dedup_key, label="expected", until=noticed + 2 * DAY,
                             note="imports migration", time=noticed))  # fmt: skip
        wait_metric(worker, 'spikewatch_feedback_records_total{type="label"}', 1)
        produce(env, lines[split:])
        final = detection_settled([worker], kafka_bootstrap, f"{name}-app.detection", events=len(lines))
        assert final.get("settled"), (final, worker.tail())
        later = [a for a in regression_alerts(kafka_bootstrap, name)
                 if a.status == "firing" and a.dedup_key != first[0].dedup_key]  # fmt: skip
        assert later and later[0].feature == FEATURE, later  # still detected and published
        assert not later[0].pages and later[0].evidence["paging_suppressed"] == "expected"
        assert later[0].event_time.timestamp() < noticed + 2 * DAY
    finally:
        worker.stop()


def test_churn_outcomes_joins_churn_alerts_and_customer_actions(kafka_bootstrap, tmp_path, monkeypatch):
    from aiokafka import AIOKafkaProducer
    from typer.testing import CliRunner

    from schemas.alerts import Alert
    from schemas.feedback import CustomerAction
    from stream.alerts import topic_for
    from stream.cli import app

    name = f"outcomes-{uuid.uuid4().hex[:8]}"
    env = feedback_env(worker_env(kafka_bootstrap, name, tmp_path / "state"), name)
    for key, value in env.items():
        if key.startswith("SPIKEWATCH_"):
            monkeypatch.setenv(key, value)
    t0 = REGRESSION[0]

    def churn(account: str, status: str, at: float) -> Alert:
        return Alert(kind="churn_risk", status=status, severity="warning", pages=False, summary="fell",
                     dedup_key=f"churn_risk:{account}:1", account_id=account, started_at=t0, event_time=at)

    async def publish() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for alert in (churn("acme", "firing", t0 + DAY), churn("initech", "firing", t0 + DAY),
                          churn("acme", "resolved", t0 + 5 * DAY)):  # fmt: skip
                await producer.send_and_wait(topic_for("churn_risk", f"{name}.alerts."), alert.to_json(),
                                             key=alert.dedup_key.encode())  # fmt: skip
        finally:
            await producer.stop()

    asyncio.run(publish())
    send(env, CustomerAction(dedup_key="churn_risk:acme:1", action="contacted", time=t0 + 2 * DAY))
    result = CliRunner().invoke(app, ["churn-outcomes"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:5]]
            for line in result.output.splitlines() if line.count("│") == 5}  # fmt: skip
    assert rows["contacted"] == ["1", "1", "1"]
    assert rows["open"] == ["1", "0", "0"]
