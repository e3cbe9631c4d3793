"""Settings of the ingest worker: Kafka connection, topic names and the worker itself.

Values come, highest priority first, from keyword arguments, ``SPIKEWATCH_*`` environment variables
(nested sections joined by ``__``, e.g. ``SPIKEWATCH_KAFKA__BOOTSTRAP``), an optional TOML file
(``--config`` or ``SPIKEWATCH_CONFIG_FILE``) and the defaults below. The Kafka section is passed through
to Faust and aiokafka, so the same worker points at a managed cluster with SASL or TLS by configuration
alone.

Examples
--------
>>> settings = load_settings(kafka={"bootstrap": "broker-1:9093"}, environ={})
>>> settings.kafka.bootstrap
'broker-1:9093'
>>> settings.topics.input
['spikewatch.events']
>>> masked_settings(load_settings(kafka={"sasl_password": "hunter2"}, environ={}))["kafka"]["sasl_password"]
'**********'

"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import pydantic
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = [
    "CONFIG_FILE_ENV",
    "ConfigError",
    "KafkaSettings",
    "Settings",
    "TopicSettings",
    "WorkerSettings",
    "load_settings",
    "masked_settings",
]

ENV_PREFIX = "SPIKEWATCH_"
CONFIG_FILE_ENV = "SPIKEWATCH_CONFIG_FILE"
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class KafkaSettings(_Section):
    """Where the Kafka cluster is and how to authenticate to it."""

    bootstrap: str = Field("127.0.0.1:9092", min_length=1, description="host:port[,host:port...]")
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = Field(
        None, description="File holding the SASL password (a mounted secret); one trailing newline dropped."
    )
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    require_tls: bool = Field(
        False, description="Refuse to start unless security_protocol is SSL or SASL_SSL."
    )

    @model_validator(mode="after")
    def _read_password_file(self) -> KafkaSettings:
        if self.sasl_password_file is None:
            return self
        if self.sasl_password is not None:
            raise ValueError("set sasl_password or sasl_password_file, not both")
        try:
            secret = self.sasl_password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            path = self.sasl_password_file
            raise ValueError(f"sasl_password_file {path} cannot be read: {reason}") from None
        secret = secret.removesuffix("\n").removesuffix("\r")  # `echo secret > file` adds one
        if not secret:
            raise ValueError(f"sasl_password_file {self.sasl_password_file} is empty")
        self.sasl_password = SecretStr(secret)
        return self

    @model_validator(mode="after")
    def _tls_when_required(self) -> KafkaSettings:
        if self.require_tls and not self.security_protocol.endswith("SSL"):
            raise ValueError(
                f"require_tls is set but security_protocol={self.security_protocol} is not encrypted "
                "(use SSL or SASL_SSL and the broker's TLS port)"
            )
        return self

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_"):
            missing = [
                name
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"security_protocol={self.security_protocol} also needs {', '.join(missing)}"
                )
        return self

    @property
    def broker_url(self) -> str:
        """Faust's ``broker`` setting: every bootstrap server as a ``kafka://`` URL."""
        return ";".join(f"kafka://{server.strip()}" for server in self.bootstrap.split(",") if server.strip())

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS context for SSL and SASL_SSL (system CAs unless ``ssl_cafile``), None otherwise."""
        if not self.security_protocol.endswith("SSL"):
            return None
        context = ssl.create_default_context(cafile=self.ssl_cafile)
        if self.ssl_certfile is not None:
            context.load_cert_chain(self.ssl_certfile, keyfile=self.ssl_keyfile)
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients (producer, consumer, admin) with these settings."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.security_protocol.startswith("SASL_"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        return options


class TopicSettings(_Section):
    """Names and sizes of the topics the worker reads and writes."""

    input: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["spikewatch.events"], min_length=1)
    deadletter: str = Field("spikewatch.deadletter", min_length=1)
    alert_prefix: str = Field("spikewatch.alerts.", min_length=1)
    detection: str | None = Field(
        None, description="One-partition topic from ingest to detection; default '{worker.app_id}.detection'."
    )
    feedback: str = Field("spikewatch.feedback", min_length=1)
    partitions: int = Field(4, ge=1, le=1024)
    replication_factor: int = Field(1, ge=1)

    @field_validator("input", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        # From the environment a list arrives as one string: a JSON array or comma-separated names.
        if isinstance(value, str):
            text = value.strip()
            return (
                orjson.loads(text)
                if text.startswith("[")
                else [n.strip() for n in text.split(",") if n.strip()]
            )
        return value


class WorkerSettings(_Section):
    """The worker process: identity, web endpoint, local state and delivery guarantee."""

    app_id: str = Field("spikewatch", min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    state_dir: Path = Path(".spikewatch-state")
    state_min_free_bytes: int = Field(
        32 * 1024 * 1024, ge=0, description="The worker refuses to start with less free space in state_dir."
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    max_event_bytes: int = Field(65536, ge=64)
    detect: bool = Field(True, description="Run the detection engine and publish alerts.")
    allowed_lateness: float = Field(
        600.0, ge=0, le=86_400, description="Seconds an event may lag the latest event time and be used."
    )
    reorder_horizon: float = Field(
        120.0, ge=0, le=86_400,
        description="Seconds of event time events are held to be fed to detection in event-time order.",
    )  # fmt: skip
    ingest: Literal["faust", "batch"] = Field(
        "faust",
        description="Ingest stage: a Faust agent per record (tested default) or batches in Kafka transactions"
        " (experimental; see BENCHMARKS.md).",
    )
    ingest_batch_records: int = Field(
        4000, ge=1, le=100_000,
        description="With ingest 'batch': most input records read and committed as one transaction.",
    )  # fmt: skip
    snapshot_interval: float = Field(
        5.0, gt=0, le=3600, description="Seconds of wall time between snapshots of the detection state."
    )
    snapshot_max_share: float = Field(
        0.1, gt=0, le=1,
        description="Most share of the detection stage's wall time spent writing snapshots: with a large "
        "state the interval stretches beyond snapshot_interval.",
    )  # fmt: skip
    metrics_top_churn_accounts: int = Field(
        10, ge=0, le=100,
        description="Accounts at churn risk shown by id on /metrics (highest MRR first); 0 shows none.",
    )  # fmt: skip
    session_timeout: float = Field(
        30.0,
        ge=6,
        le=300,
        description="Seconds before a worker that stopped heartbeating loses its partitions.",
    )


class Settings(BaseSettings):
    """Effective configuration of one spikewatch worker."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file and the environment mapping are chosen per call by ``load_settings``.
        return (init_settings,)


class ConfigError(ValueError):
    """A setting has a bad value; the message names the setting and where to set it."""


def _env_name(loc: tuple[Any, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part).upper() for part in loc[:2])


def _describe(error: pydantic.ValidationError) -> str:
    lines = []
    for detail in error.errors():
        loc = tuple(part for part in detail["loc"] if not isinstance(part, int))
        name = ".".join(str(part) for part in loc) or "settings"
        hint = f" (env {_env_name(loc)})" if loc else ""
        given = detail.get("input")
        shown = "" if isinstance(given, Mapping) or "password" in name else f", got {given!r}"
        lines.append(f"setting {name}{hint}: {detail['msg']}{shown}")
    return "invalid spikewatch configuration:\n  " + "\n  ".join(lines)


def load_settings(
    config_file: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read the settings from keyword overrides, the environment and a TOML file.

    Parameters
    ----------
    config_file
        TOML file with ``[kafka]``, ``[topics]`` and ``[worker]`` tables. Defaults to the file named by
        ``SPIKEWATCH_CONFIG_FILE``, if any.
    environ
        Environment to read ``SPIKEWATCH_*`` variables from; defaults to :data:`os.environ`.
    overrides
        Section values that win over everything else, e.g. ``worker={"web_port": 6070}``.

    Raises
    ------
    ConfigError
        A value is invalid or the file is missing; the message names each bad setting.

    """
    env = dict(os.environ if environ is None else environ)
    path = config_file if config_file is not None else env.get(CONFIG_FILE_ENV)
    if path is not None and not Path(path).is_file():
        raise ConfigError(f"config file {path} not found (from --config or {CONFIG_FILE_ENV})")
    env.pop(CONFIG_FILE_ENV, None)

    class _Sourced(Settings):
        @classmethod
        def settings_customise_sources(  # type: ignore[override]
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, **_: Any
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, _MappingEnvSource(settings_cls, env)]
            if path is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
            return tuple(sources)

    try:
        sourced = _Sourced(**overrides)
    except pydantic.ValidationError as error:
        raise ConfigError(_describe(error)) from None
    except ValueError as error:  # e.g. a TOML syntax error or an env value that is not JSON
        raise ConfigError(f"invalid spikewatch configuration: {error}") from None
    return Settings.model_construct(**{name: getattr(sourced, name) for name in Settings.model_fields})


class _MappingEnvSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of the process environment."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._mapping = dict(environ)
        super().__init__(settings_cls, case_sensitive=False)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._mapping.items()}


def masked_settings(settings: Settings) -> dict[str, Any]:
    """The settings as plain JSON-ready data, secrets shown as ``**********``, unset values left out.

    A password read from ``sasl_password_file`` is left out too: the file is the setting to keep.
    """
    data = settings.model_dump(mode="json", exclude_none=True)
    if settings.kafka.sasl_password_file is not None:
        data["kafka"].pop("sasl_password", None)
    return data
