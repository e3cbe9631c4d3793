"""`spikewatch feedback` / `spikewatch silence`: validated records on a compacted topic, keyed by subject."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from typer.testing import CliRunner

from schemas.feedback import FEEDBACK_ADAPTER, AlertLabel, Silence
from stream.cli import app
from tests.stream.worker_support import read_topic


def said(result) -> str:
    """The command's output as one line: rich wraps error panels at the terminal width."""
    return " ".join(result.output.replace("│", " ").split())


def test_feedback_needs_exactly_one_of_label_or_action():
    result = CliRunner().invoke(app, ["feedback", "regression:x"])
    assert result.exit_code == 2
    assert "exactly one of --label or --action" in said(result)


def test_silence_needs_a_scope_and_an_end():
    runner = CliRunner()
    result = runner.invoke(app, ["silence", "--for", "1h", "--reason", "upgrade"])
    assert result.exit_code == 2 and "--feature, --account or --all" in said(result)
    result = runner.invoke(app, ["silence", "--feature", "sso", "--reason", "upgrade"])
    assert result.exit_code == 2 and "--end or --for" in said(result)
    result = runner.invoke(app, ["silence", "--feature", "sso", "--for", "soon", "--reason", "upgrade"])
    assert result.exit_code == 2 and "not a duration" in said(result)


@pytest.mark.kafka
def test_feedback_and_silences_land_on_a_compacted_topic(kafka_bootstrap, monkeypatch):
    topic = f"feedback-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SPIKEWATCH_KAFKA__BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("SPIKEWATCH_TOPICS__FEEDBACK", topic)
    runner = CliRunner()
    key = "regression:imports:2026-03-04T09:10Z"
    commands = [
        ["feedback", key, "--label", "expected", "--for", "2h", "--note", "migration", "--author", "jo"],
        ["feedback", "churn_risk:acme:2026-03-01", "--action", "contacted"],
        ["silence", "--feature", "sso", "--start", "2026-03-05T22:00:00Z",
         "--end", "2026-03-06T02:00:00+00:00", "--reason", "idp upgrade"],
    ]  # fmt: skip
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["feedback", key, "--label", "expected"])
    assert bad.exit_code == 2 and "needs until" in said(bad)

    received = read_topic(kafka_bootstrap, topic, len(commands), timeout=30)
    records = {r.key.decode(): FEEDBACK_ADAPTER.validate_json(r.value) for r in received}
    label = records[f"label:{key}"]
    assert isinstance(label, AlertLabel) and label.label == "expected" and label.author == "jo"
    assert 7100 < (label.until - label.time).total_seconds() < 7300
    assert records["action:churn_risk:acme:2026-03-01"].action == "contacted"
    silence = next(r for r in records.values() if isinstance(r, Silence))
    assert (silence.feature, silence.start.isoformat()) == ("sso", "2026-03-05T22:00:00+00:00")
    assert asyncio.run(_cleanup_policy(kafka_bootstrap, topic)) == "compact"


async def _cleanup_policy(bootstrap: str, topic: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    entries = {entry[0]: entry[1] for entry in response.resources[0][4]}
    return entries["cleanup.policy"]


@pytest.mark.kafka
def test_releases_rebuilds_release_quality_from_alert_and_feedback_topics(kafka_bootstrap, monkeypatch):
    from aiokafka import AIOKafkaProducer

    from schemas.alerts import Alert
    from stream.alerts import topic_for

    run = uuid.uuid4().hex[:8]
    prefix = f"rq-{run}.alerts."
    monkeypatch.setenv("SPIKEWATCH_KAFKA__BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("SPIKEWATCH_TOPICS__ALERT_PREFIX", prefix)
    monkeypatch.setenv("SPIKEWATCH_TOPICS__FEEDBACK", f"rq-{run}.feedback")
    t0 = 1_772_668_800
    pages = [
        Alert(kind="regression", severity="critical", pages=True, dedup_key=f"regression:{f}:{run}",
              summary=f"{f} up", feature=f, release=r, release_confidence=0.75, started_at=t0, event_time=t0)
        for f, r in (("imports", "v1.4.0"), ("login", "v1.4.0"), ("sso", "v1.5.0"))
    ]  # fmt: skip

    async def publish() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for alert in pages:
                topic = topic_for(alert.kind, prefix)
                await producer.send_and_wait(topic, alert.to_json(), key=alert.dedup_key.encode())
        finally:
            await producer.stop()

    asyncio.run(publish())
    runner = CliRunner()
    labelled = runner.invoke(app, ["feedback", f"regression:login:{run}", "--label", "false-alarm"])
    assert labelled.exit_code == 0, labelled.output
    result = runner.invoke(app, ["releases"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[2].strip(): line for line in result.output.splitlines() if run in line}
    assert "v1.4.0" in rows[f"regression:imports:{run}"] and "unlabelled" in rows[f"regression:imports:{run}"]
    assert "false-alarm" in rows[f"regression:login:{run}"]
    assert "v1.5.0" in rows[f"regression:sso:{run}"] and "75%" in rows[f"regression:sso:{run}"]
    assert "2 releases named by alerts" in result.output
