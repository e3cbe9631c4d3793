"""The local Kafka broker with TLS and SASL/SCRAM listeners, for tests of secure client settings.

Besides the PLAINTEXT listener of :class:`~stream.kafka_local.LocalKafka` (kept for the broker's own
traffic and for test set-up), the broker listens with ``SSL`` (server certificate only) and
``SASL_SSL`` (SCRAM-SHA-512) on two more loopback ports. The certificate authority is made fresh in
the data directory by :func:`stream.tls.make_test_pki`; the SCRAM user is written into the KRaft
metadata at format time (``kafka-storage format --add-scram``), so it exists before the first client.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from string import Template
from typing import Any

from stream.kafka_local import DEPLOY_DIR, LocalKafka, free_port
from stream.tls import TestPki, make_test_pki

__all__ = ["SecureLocalKafka"]

SCRAM_MECHANISM = "SCRAM-SHA-512"


class SecureLocalKafka(LocalKafka):
    """A :class:`LocalKafka` that also serves ``SSL`` and ``SASL_SSL`` listeners on 127.0.0.1.

    Parameters
    ----------
    username
        SCRAM-SHA-512 user created at format time.
    password
        Its password; a random one when None (read it back from :attr:`password`).
    kwargs
        As for :class:`LocalKafka`.
    """

    def __init__(self, *args: Any, username: str = "spikewatch", password: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not username or any(char in username for char in "=,[]"):
            raise ValueError(f"username must be non-empty without '=', ',', '[' or ']', got {username!r}")
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(18)
        if any(char in self.password for char in ",[]"):
            raise ValueError("password must not contain ',', '[' or ']' (kafka-storage --add-scram syntax)")
        self._ssl_port: int | None = None
        self._sasl_ssl_port: int | None = None
        self._pki: TestPki | None = None

    @property
    def ssl_bootstrap(self) -> str:
        """``host:port`` of the TLS listener (no client authentication)."""
        return f"127.0.0.1:{self._ssl_port}"

    @property
    def sasl_ssl_bootstrap(self) -> str:
        """``host:port`` of the SASL_SSL (SCRAM-SHA-512) listener."""
        return f"127.0.0.1:{self._sasl_ssl_port}"

    @property
    def ca_file(self) -> Path:
        """PEM file of the CA that signed the broker's certificate: the client's ``ssl_cafile``."""
        return self._tls().ca_file

    def _tls(self) -> TestPki:
        if self._pki is None:
            self._pki = make_test_pki(self._data_dir() / "tls")
        return self._pki

    def _config_text(self, data_dir: Path) -> str:
        self._ssl_port = self._ssl_port or free_port()
        self._sasl_ssl_port = self._sasl_ssl_port or free_port()
        secure = Template((DEPLOY_DIR / "secure.properties.template").read_text())
        return super()._config_text(data_dir) + secure.substitute(
            port=self.port,
            controller_port=self._controller_port,
            ssl_port=self._ssl_port,
            sasl_ssl_port=self._sasl_ssl_port,
            server_pem=self._tls().server_pem,
        )

    def _format_options(self) -> list[str]:
        return ["--add-scram", f"{SCRAM_MECHANISM}=[name={self.username},password={self.password}]"]
