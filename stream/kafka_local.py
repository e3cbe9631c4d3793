"""A real single-node Kafka broker (KRaft) that spikewatch starts itself, for tests and demos.

The broker jars come from Maven Central through ``deploy/kafka/pom.xml`` (no Kafka tarball, no Docker);
the broker runs as ``java -cp 'libs/*' kafka.Kafka server.properties`` and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from string import Template
from types import TracebackType

# 4.0.1 verified by tests/stream/test_kafka_compat.py: aiokafka 0.14 admin, produce, consumer-group commit
# and transactions (send_offsets_to_transaction); faust-streaming 0.15 tables with at_least_once and
# exactly_once. Keep equal to kafka.version in deploy/kafka/pom.xml.
KAFKA_VERSION = "4.0.1"

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEPLOY_DIR = PROJECT_ROOT / "deploy" / "kafka"
CACHE_DIR = PROJECT_ROOT / ".cache"
RUN_DIR = CACHE_DIR / "kafka-run"


class KafkaError(RuntimeError):
    """The local broker could not be fetched, started or stopped."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` of 127.0.0.1 now (address reuse on, as Kafka has it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def new_cluster_id() -> str:
    """Return a random Kafka cluster id (a UUID in URL-safe base64, as ``kafka-storage random-uuid``)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):  # Kafka refuses ids that look like a command-line flag
            return cluster_id


def broker_answers(bootstrap: str, timeout: float = 5.0) -> bool:
    """Whether a Kafka broker at ``bootstrap`` answers a metadata request and lists itself."""
    host, port = bootstrap.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError:
        return False

    async def probe() -> bool:
        from aiokafka.client import AIOKafkaClient

        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
        try:
            await client.bootstrap()
            return bool(client.cluster.brokers())
        except Exception:
            return False
        finally:
            await client.close()

    # A thread of its own, so this also works when the caller already runs an event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, probe()).result()


class LocalKafka:
    """A single-node Kafka broker and KRaft controller on 127.0.0.1, usable as a context manager.

    Parameters
    ----------
    port
        Client port; a free one is picked at the first start when None. Restarts keep it.
    data_dir
        Where the broker keeps its config, log segments and ``broker.log``. Defaults to
        ``.cache/kafka-run/<port>``, emptied at the first start so every run begins from a blank cluster.
    version
        Kafka version whose jars live in ``.cache/kafka/<version>/libs``.
    java, mvn
        Executables to run the broker and to fetch the jars.
    heap
        Maximum JVM heap, e.g. ``"512m"``.
    startup_timeout
        Seconds to wait for the broker to answer before giving up.
    detached
        Keep the broker running after this Python process exits (``spikewatch kafka up``); otherwise it
        is stopped at interpreter exit at the latest.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        data_dir: Path | str | None = None,
        version: str = KAFKA_VERSION,
        java: str = "java",
        mvn: str = "mvn",
        heap: str = "512m",
        startup_timeout: float = 120.0,
        detached: bool = False,
    ) -> None:
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port must be in 1..65535, got {port}")
        if startup_timeout <= 0:
            raise ValueError(f"startup_timeout must be positive, got {startup_timeout}")
        self.port = port
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.version = version
        self.java = java
        self.mvn = mvn
        self.heap = heap
        self.startup_timeout = startup_timeout
        self.detached = detached
        self._controller_port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self._started_once = False

    @property
    def libs_dir(self) -> Path:
        """Folder holding the broker jar and its runtime dependencies."""
        return CACHE_DIR / "kafka" / self.version / "libs"

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients."""
        if self.port is None:
            raise KafkaError("the broker has no port yet: call start() first")
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the running broker, None when stopped."""
        return self._pid

    @property
    def log_file(self) -> Path:
        """The broker's own log (stdout and stderr of the JVM)."""
        return self._data_dir() / "broker.log"

    def fetch(self) -> Path:
        """Download the broker jars with Maven once; later calls return the cached folder at once."""
        if (self.libs_dir / f"kafka_2.13-{self.version}.jar").is_file():
            return self.libs_dir
        mvn = self._executable(self.mvn, "Maven", "install Maven 3 (e.g. `apt-get install maven`)")
        partial = self.libs_dir.with_name(f"libs.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(DEPLOY_DIR / "pom.xml"),
            f"-Dkafka.version={self.version}",
            f"-Dkafka.libs.dir={partial}",
            "dependency:copy-dependencies",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = _tail(result.stdout + result.stderr)
            raise KafkaError(f"Maven could not fetch Kafka {self.version}:\n{output}")
        # All or nothing: an interrupted fetch leaves no half-filled libs; a concurrent fetch may win.
        if not (self.libs_dir / f"kafka_2.13-{self.version}.jar").is_file():
            shutil.rmtree(self.libs_dir, ignore_errors=True)  # leftovers of an older, unfinished layout
        try:
            partial.rename(self.libs_dir)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
            if not (self.libs_dir / f"kafka_2.13-{self.version}.jar").is_file():
                raise
        return self.libs_dir

    def start(self) -> LocalKafka:
        """Start the broker (fetching jars if needed) and wait until it serves metadata."""
        if self.is_running():
            return self
        java = self._executable(self.java, "Java", "install a JDK 17+ or pass java='/path/to/java'")
        self.fetch()
        self.port = self.port or free_port()
        self._controller_port = self._controller_port or free_port()
        data_dir = self._data_dir()
        if not self._started_once and self.data_dir is None:
            if not port_is_free(self.port):  # another broker may own this run folder: never wipe it
                raise KafkaError(f"port {self.port} on 127.0.0.1 is already in use")
            shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config(data_dir)
        classpath = f"{self.libs_dir}{os.sep}*"
        jvm = [
            java,
            f"-Xmx{self.heap}",
            "-Xms64m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={DEPLOY_DIR / 'log4j2.properties'}",
            "-cp",
            classpath,
        ]
        if not (data_dir / "kraft-logs" / "meta.properties").is_file():
            self._format(jvm, config)
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(
                [*jvm, "kafka.Kafka", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=data_dir,
                start_new_session=True,
            )
        self._pid = self._process.pid
        self._started_once = True
        if not self.detached:
            atexit.register(self.stop)
        self._wait_until_ready()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker: SIGTERM for a clean shutdown, SIGKILL if it is still alive after ``timeout``."""
        if self._pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGTERM)
        if not self._wait_exit(timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._wait_exit(10.0)
        self._process = None
        self._pid = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def restart(self) -> LocalKafka:
        """Stop and start again on the same port and data directory: topics and offsets survive."""
        self.stop()
        return self.start()

    def is_running(self) -> bool:
        """Whether the broker process is alive (not whether it answers yet)."""
        if self._pid is None:
            return False
        if self._process is not None:
            return self._process.poll() is None
        return _is_kafka_process(self._pid)

    @classmethod
    def attach(cls, pid: int, port: int, data_dir: Path | str, **kwargs: object) -> LocalKafka:
        """A handle on a broker started by another process (``spikewatch kafka up``), to stop it."""
        kafka = cls(port, data_dir=data_dir, **kwargs)  # type: ignore[arg-type]
        kafka._pid = pid if _is_kafka_process(pid) else None
        kafka._started_once = True
        return kafka

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if exc is None and self.data_dir is None and self.port is not None:
            # The run folder was ours: drop the segments but keep the broker log of the latest run.
            with contextlib.suppress(OSError):
                shutil.copyfile(self.log_file, RUN_DIR / "last-broker.log")
            shutil.rmtree(self._data_dir(), ignore_errors=True)

    def _data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        return RUN_DIR / str(self.bootstrap.rsplit(":", 1)[1])

    def _write_config(self, data_dir: Path) -> Path:
        config = data_dir / "server.properties"
        config.write_text(self._config_text(data_dir))
        return config

    def _config_text(self, data_dir: Path) -> str:
        """The broker's ``server.properties``; subclasses append lines (a later key wins in Java)."""
        template = Template((DEPLOY_DIR / "server.properties.template").read_text())
        return template.substitute(
            port=self.port, controller_port=self._controller_port, log_dirs=data_dir / "kraft-logs"
        )

    def _format_options(self) -> list[str]:
        """Extra ``kafka-storage format`` arguments (e.g. ``--add-scram``) for subclasses."""
        return []

    def _format(self, jvm: list[str], config: Path) -> None:
        command = [
            *jvm,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(config),
            "--ignore-formatted",
            *self._format_options(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise KafkaError(f"formatting the Kafka storage failed:\n{_tail(result.stdout + result.stderr)}")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                code = self._process.returncode
                self._process, self._pid = None, None
                excerpt = _log_excerpt(self.log_file)
                raise KafkaError(f"Kafka exited with code {code} while starting.\n{excerpt}")
            if broker_answers(self.bootstrap, timeout=2.0):
                return
            time.sleep(0.25)
        self.stop()
        raise KafkaError(
            f"Kafka did not answer on {self.bootstrap} within {self.startup_timeout:.0f} s.\n"
            f"{_log_excerpt(self.log_file)}"
        )

    def _wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=0.2)
                    return True
            elif not _is_kafka_process(self._pid):  # type: ignore[arg-type]
                return True
            else:
                time.sleep(0.2)
        return False

    @staticmethod
    def _executable(name: str, what: str, hint: str) -> str:
        found = shutil.which(name)
        if found is None:
            raise KafkaError(f"{what} not found at {name!r}: {hint}")
        return found


def _is_kafka_process(pid: int) -> bool:
    """Whether ``pid`` is alive and is a Kafka broker, not a stranger that reused the number."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    return b"kafka.Kafka" in cmdline and ") Z " not in stat


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _log_excerpt(log_file: Path) -> str:
    """The errors of a broker log and its last lines: the cause often scrolls away behind shutdown noise."""
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no broker log at {log_file})"
    errors = [line for line in lines if " ERROR " in line or line.startswith("Caused by:")][:12]
    found = "errors:\n" + "\n".join(errors) + "\n" if errors else ""
    return f"{found}end of {log_file}:\n" + "\n".join(lines[-25:])
