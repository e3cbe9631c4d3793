"""The Faust app built from settings, without a broker: topics, table, credentials, health."""

from __future__ import annotations

import ssl

import faust
import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from stream.app import INGEST_STATE_TABLE, create_app, kafka_credentials
from stream.batch_ingest import ingest_group, state_topic_name
from stream.cli import app as cli
from stream.config import load_settings
from stream.web import consumer_health


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        environ={
            "SPIKEWATCH_WORKER__APP_ID": "unit-app",
            "SPIKEWATCH_WORKER__STATE_DIR": str(tmp_path),
            "SPIKEWATCH_WORKER__WEB_PORT": "6199",
            "SPIKEWATCH_TOPICS__INPUT": "tickets,usage",
            "SPIKEWATCH_TOPICS__PARTITIONS": "6",
        }
    )


def test_app_is_built_from_settings_without_side_effects(settings):
    app = create_app(settings, registry=CollectorRegistry())
    assert app.conf.id == "unit-app"
    assert app.conf.web_port == 6199
    assert app.conf.web_bind == "127.0.0.1"
    assert str(app.conf.broker[0]) == "kafka://127.0.0.1:9092"
    assert app.conf.processing_guarantee.value == "at_least_once"
    table = app.tables[INGEST_STATE_TABLE]
    assert table.partitions == 6
    assert table.changelog_topic.get_topic_name() == f"unit-app-{INGEST_STATE_TABLE}-changelog"
    topics = {name: set(agent.channel.topics) for name, agent in app.agents.items()}
    assert {"tickets", "usage"} in topics.values()
    assert {"unit-app.detection"} in topics.values()  # the detection stage's one-partition topic


def test_two_apps_do_not_share_tables_or_metrics(settings):
    first, second = create_app(settings), create_app(settings)
    assert first.tables[INGEST_STATE_TABLE] is not second.tables[INGEST_STATE_TABLE]


def test_a_worker_that_is_not_running_is_not_healthy(settings):
    healthy, reason = consumer_health(create_app(settings))
    assert not healthy
    assert reason == "worker is not running"


def test_plaintext_needs_no_credentials(settings):
    assert kafka_credentials(settings.kafka) is None


def test_sasl_ssl_credentials_carry_mechanism_user_and_tls():
    kafka = load_settings(
        environ={
            "SPIKEWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
            "SPIKEWATCH_KAFKA__SASL_MECHANISM": "SCRAM-SHA-256",
            "SPIKEWATCH_KAFKA__SASL_USERNAME": "svc",
            "SPIKEWATCH_KAFKA__SASL_PASSWORD": "s3cret",
        }
    ).kafka
    credentials = kafka_credentials(kafka)
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("svc", "s3cret")
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert isinstance(credentials.ssl_context, ssl.SSLContext)


def test_ssl_credentials_use_a_tls_context():
    kafka = load_settings(environ={"SPIKEWATCH_KAFKA__SECURITY_PROTOCOL": "SSL"}).kafka
    assert isinstance(kafka_credentials(kafka), faust.SSLCredentials)


def test_worker_command_reports_a_bad_setting_before_starting(monkeypatch):
    monkeypatch.setenv("SPIKEWATCH_WORKER__PROCESSING_GUARANTEE", "sometimes")
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 2
    assert "worker.processing_guarantee" in result.output


def test_worker_command_rejects_an_unknown_log_level():
    result = CliRunner().invoke(cli, ["worker", "--loglevel", "chatty"])
    assert result.exit_code == 2
    assert "--loglevel" in result.output


def test_batch_ingest_runs_beside_the_agents_instead_of_the_ingest_agent(tmp_path):
    settings = load_settings(environ={
        "SPIKEWATCH_WORKER__APP_ID": "unit-batch", "SPIKEWATCH_WORKER__STATE_DIR": str(tmp_path),
        "SPIKEWATCH_TOPICS__INPUT": "tickets,usage", "SPIKEWATCH_WORKER__INGEST": "batch",
    })  # fmt: skip
    app = create_app(settings, registry=CollectorRegistry())
    assert set(app.agents) == {"detect"}  # no per-record ingest agent
    assert INGEST_STATE_TABLE not in app.tables
    assert app.ingester is not None and app.ingester.settings.topics.input == ["tickets", "usage"]
    assert app.ingester.max_records == 4000
    assert ingest_group(settings) == "unit-batch-ingest"
    assert state_topic_name(settings) == "unit-batch-ingest-state"
    assert create_app(settings).ingester.table is not app.ingester.table
    assert create_app(load_settings(environ={"SPIKEWATCH_WORKER__STATE_DIR": str(tmp_path)})).ingester is None
