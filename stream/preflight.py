"""Checks the worker runs before it joins the consumer group, so it fails at once with a clear reason.

Faust on its own would start against a state directory it cannot write (and fail later, mid-stream)
and retry a TLS handshake with a plain-text listener, or a wrong password, forever. These checks turn
both into one line for a person and a non-zero exit:

* the state directory exists or can be created, is a directory, takes a small file written and
  synced (a full or read-only disk fails here), and has ``worker.state_min_free_bytes`` free;
* for ``SSL`` and ``SASL_SSL``, the first bootstrap server that answers completes a TLS handshake
  with the configured CA, and (SASL) authenticates. A server that does not answer at all is not an
  error: brokers may come up after the worker, which then keeps retrying as usual.

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     check_state_dir(Path(folder) / "state", min_free_bytes=0)
>>> try:
...     check_state_dir(Path("/proc/version/state"), min_free_bytes=0)
... except PreflightError as error:
...     print(error)
state directory /proc/version/state cannot be created: Not a directory (a parent is a file)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import os
import shutil
import socket
import ssl
import uuid
from pathlib import Path

from stream.config import KafkaSettings

__all__ = ["PreflightError", "check_kafka_security", "check_state_dir"]

_PROBE_BYTES = 4096


class PreflightError(RuntimeError):
    """The worker must not start; the message says what is wrong and what to change."""


def _describe(error: OSError) -> str:
    reason = error.strerror or type(error).__name__
    if error.errno == errno.ENOTDIR:
        reason += " (a parent is a file)"
    elif error.errno in (errno.EACCES, errno.EPERM):
        reason += f" (running as uid {os.getuid()})"
    return reason


def check_state_dir(path: Path, *, min_free_bytes: int) -> None:
    """Create ``path`` if needed and prove it takes a synced write and has ``min_free_bytes`` free.

    Raises
    ------
    PreflightError
        The directory cannot be created or written, or the disk under it is (nearly) full.
    """
    if path.exists() and not path.is_dir():
        raise PreflightError(f"state directory {path} is a file, not a directory (worker.state_dir)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PreflightError(f"state directory {path} cannot be created: {_describe(error)}") from None
    probe = path / f".spikewatch-probe-{uuid.uuid4().hex}"
    try:
        with probe.open("wb") as file:
            file.write(b"\0" * _PROBE_BYTES)
            file.flush()
            os.fsync(file.fileno())  # tmpfs and some filesystems report a full disk only here
    except OSError as error:
        raise PreflightError(f"state directory {path} is not writable: {_describe(error)}") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    free = shutil.disk_usage(path).free
    if free < min_free_bytes:
        raise PreflightError(
            f"state directory {path} has {free / 2**20:.1f} MiB free, less than the "
            f"{min_free_bytes / 2**20:.1f} MiB required (worker.state_min_free_bytes)"
        )


def _servers(bootstrap: str) -> list[tuple[str, int]]:
    servers = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        if host and port.isdigit():
            servers.append((host.strip("[]"), int(port)))
    return servers


def _answers(host: str, port: int, timeout: float) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


async def _handshake(kafka: KafkaSettings, host: str, port: int, timeout: float) -> None:
    from aiokafka.conn import create_conn
    from aiokafka.errors import KafkaError

    where = f"{host}:{port}"
    context = kafka.ssl_context()
    try:
        tls = {"ssl": context, "server_hostname": host} if context is not None else {}
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port, **tls), timeout)
    except ssl.SSLCertVerificationError as error:
        raise PreflightError(
            f"the TLS certificate of Kafka at {where} is not trusted: {error.verify_message}; "
            "set kafka.ssl_cafile to the CA that signed it"
        ) from None
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
        raise PreflightError(
            f"Kafka at {where} did not complete a TLS handshake ({type(error).__name__}: {error}); "
            f"is it a PLAINTEXT listener? security_protocol={kafka.security_protocol} needs the "
            "broker's SSL or SASL_SSL port"
        ) from None
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()
    if not kafka.security_protocol.startswith("SASL_"):
        return
    options = kafka.client_options()
    options.pop("bootstrap_servers")
    try:
        conn = await create_conn(host, port, request_timeout_ms=int(timeout * 1000), **options)
    except KafkaError as error:
        # aiokafka names the mechanism and says "invalid credentials"; it never echoes the password.
        raise PreflightError(
            f"Kafka at {where} refused the SASL login of user {kafka.sasl_username!r}: {error}"
        ) from None
    conn.close()


def check_kafka_security(kafka: KafkaSettings, *, timeout: float = 10.0) -> str | None:
    """Prove the TLS (and SASL) settings work against the first bootstrap server that answers.

    Returns a note for the log when no server answered (nothing could be checked), else None.

    Raises
    ------
    PreflightError
        The handshake failed (a plain-text port, an untrusted certificate) or the login was refused.
    """
    if kafka.security_protocol == "PLAINTEXT":
        return None
    for host, port in _servers(kafka.bootstrap):
        if not _answers(host, port, timeout):
            continue
        # A thread of its own: the caller may run an event loop, and Faust wants a fresh one later.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _handshake(kafka, host, port, timeout)).result()
        return None
    return f"no Kafka bootstrap server of {kafka.bootstrap} answers yet; TLS and SASL not checked"
