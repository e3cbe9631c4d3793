"""Settings from defaults, a TOML file and SPIKEWATCH_* variables; errors that name the setting."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from stream.cli import app
from stream.config import ConfigError, load_settings, masked_settings

SASL_ENV = {
    "SPIKEWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
    "SPIKEWATCH_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
    "SPIKEWATCH_KAFKA__SASL_USERNAME": "spikewatch",
    "SPIKEWATCH_KAFKA__SASL_PASSWORD": "hunter2",
}


def test_defaults_point_at_a_local_broker():
    settings = load_settings(environ={})
    assert settings.kafka.bootstrap == "127.0.0.1:9092"
    assert settings.kafka.security_protocol == "PLAINTEXT"
    assert settings.topics.input == ["spikewatch.events"]
    assert settings.topics.deadletter == "spikewatch.deadletter"
    assert settings.worker.web_host == "127.0.0.1"
    assert settings.worker.max_event_bytes == 65536


def test_environment_sets_nested_values():
    settings = load_settings(
        environ={
            "SPIKEWATCH_KAFKA__BOOTSTRAP": "b1:9093,b2:9093",
            "SPIKEWATCH_TOPICS__INPUT": "tickets, usage",
            "SPIKEWATCH_TOPICS__PARTITIONS": "12",
            "SPIKEWATCH_WORKER__WEB_PORT": "7001",
        }
    )
    assert settings.kafka.bootstrap == "b1:9093,b2:9093"
    assert settings.kafka.broker_url == "kafka://b1:9093;kafka://b2:9093"
    assert settings.topics.input == ["tickets", "usage"]
    assert settings.topics.partitions == 12
    assert settings.worker.web_port == 7001


def test_input_topics_accept_a_json_array():
    assert load_settings(environ={"SPIKEWATCH_TOPICS__INPUT": '["a", "b"]'}).topics.input == ["a", "b"]


def test_file_is_read_and_environment_wins_over_it(tmp_path):
    path = tmp_path / "spikewatch.toml"
    path.write_text('[kafka]\nbootstrap = "file:9092"\n[worker]\napp_id = "from-file"\nweb_port = 7100\n')
    settings = load_settings(path, environ={"SPIKEWATCH_WORKER__WEB_PORT": "7200"})
    assert settings.kafka.bootstrap == "file:9092"
    assert settings.worker.app_id == "from-file"
    assert settings.worker.web_port == 7200


def test_file_named_by_environment_variable(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[topics]\ndeadletter = "dlq"\n')
    settings = load_settings(environ={"SPIKEWATCH_CONFIG_FILE": str(path)})
    assert settings.topics.deadletter == "dlq"


def test_overrides_merge_into_a_section():
    settings = load_settings(environ={"SPIKEWATCH_WORKER__APP_ID": "env-app"}, worker={"web_port": 7300})
    assert settings.worker.web_port == 7300
    assert settings.worker.app_id == "env-app"


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SPIKEWATCH_KAFKA__SECURITY_PROTOCOL", "TLS", "kafka.security_protocol"),
        ("SPIKEWATCH_WORKER__WEB_PORT", "not-a-port", "worker.web_port"),
        ("SPIKEWATCH_WORKER__WEB_PORT", "70000", "worker.web_port"),
        ("SPIKEWATCH_TOPICS__PARTITIONS", "0", "topics.partitions"),
        ("SPIKEWATCH_WORKER__PROCESSING_GUARANTEE", "at_most_once", "worker.processing_guarantee"),
        ("SPIKEWATCH_KAFKA__BOOTSTRAP_SERVERS", "x:1", "kafka.bootstrap_servers"),
    ],
)
def test_bad_value_error_names_the_setting_and_its_variable(variable, value, named):
    with pytest.raises(ConfigError) as error:
        load_settings(environ={variable: value})
    assert named in str(error.value)
    assert named.split(".")[0].upper() in str(error.value)


def test_sasl_without_credentials_says_what_is_missing():
    with pytest.raises(ConfigError, match="sasl_username"):
        load_settings(environ={"SPIKEWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT"})


def test_sasl_settings_reach_kafka_clients_and_secrets_are_masked():
    settings = load_settings(environ=SASL_ENV)
    options = settings.kafka.client_options()
    assert options["sasl_plain_password"] == "hunter2"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["ssl_context"] is not None
    shown = masked_settings(settings)
    assert shown["kafka"]["sasl_password"] == "**********"
    assert "hunter2" not in json.dumps(shown)


def test_bad_password_value_is_not_echoed():
    with pytest.raises(ConfigError) as error:
        load_settings(environ={**SASL_ENV, "SPIKEWATCH_KAFKA__SASL_MECHANISM": "MD5"})
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_config_command_prints_masked_settings_that_load_back(fmt, tmp_path, monkeypatch):
    for name, value in SASL_ENV.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["config", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "**********" in result.output
    if fmt == "toml":
        path = tmp_path / "out.toml"
        path.write_text(result.output)
        assert load_settings(path, environ={}).kafka.sasl_username == "spikewatch"
    else:
        assert json.loads(result.output)["kafka"]["security_protocol"] == "SASL_SSL"


def test_config_command_reports_a_bad_setting(monkeypatch):
    monkeypatch.setenv("SPIKEWATCH_TOPICS__PARTITIONS", "many")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2
    assert "topics.partitions" in result.output


def test_password_file_is_read_with_one_trailing_newline_dropped(tmp_path):
    secret = tmp_path / "kafka-password"
    secret.write_text(" s3cret with spaces \n")
    env = {**SASL_ENV, "SPIKEWATCH_KAFKA__SASL_PASSWORD_FILE": str(secret)}
    del env["SPIKEWATCH_KAFKA__SASL_PASSWORD"]
    settings = load_settings(environ=env)
    assert settings.kafka.client_options()["sasl_plain_password"] == " s3cret with spaces "
    shown = masked_settings(settings)["kafka"]
    assert "sasl_password" not in shown  # the file is the setting; the TOML output loads back
    assert shown["sasl_password_file"] == str(secret)
    assert "s3cret" not in json.dumps(masked_settings(settings))


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot be read: No such file"), ("\n", "is empty"), (b"\xff", "cannot be read")],
)
def test_unusable_password_file_is_a_config_error(tmp_path, content, message):
    secret = tmp_path / "kafka-password"
    if isinstance(content, bytes):
        secret.write_bytes(content)
    elif content is not None:
        secret.write_text(content)
    env = {**SASL_ENV, "SPIKEWATCH_KAFKA__SASL_PASSWORD_FILE": str(secret)}
    del env["SPIKEWATCH_KAFKA__SASL_PASSWORD"]
    with pytest.raises(ConfigError, match=f"sasl_password_file {secret} {message}"):
        load_settings(environ=env)


def test_password_and_password_file_together_are_refused(tmp_path):
    secret = tmp_path / "kafka-password"
    secret.write_text("other")
    with pytest.raises(ConfigError, match="not both") as error:
        load_settings(environ={**SASL_ENV, "SPIKEWATCH_KAFKA__SASL_PASSWORD_FILE": str(secret)})
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_require_tls_refuses_unencrypted_protocols(protocol):
    env = {**SASL_ENV, "SPIKEWATCH_KAFKA__SECURITY_PROTOCOL": protocol, "SPIKEWATCH_KAFKA__REQUIRE_TLS": "1"}
    with pytest.raises(ConfigError, match=f"require_tls is set but security_protocol={protocol}") as error:
        load_settings(environ=env)
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
def test_require_tls_accepts_encrypted_protocols(protocol):
    env = {**SASL_ENV, "SPIKEWATCH_KAFKA__SECURITY_PROTOCOL": protocol, "SPIKEWATCH_KAFKA__REQUIRE_TLS": "on"}
    assert load_settings(environ=env).kafka.require_tls is True


def test_state_min_free_bytes_is_a_worker_setting():
    settings = load_settings(environ={"SPIKEWATCH_WORKER__STATE_MIN_FREE_BYTES": "0"})
    assert settings.worker.state_min_free_bytes == 0
    with pytest.raises(ConfigError, match=r"worker\.state_min_free_bytes"):
        load_settings(environ={"SPIKEWATCH_WORKER__STATE_MIN_FREE_BYTES": "-1"})
