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
