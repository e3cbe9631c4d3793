"""Start-up checks: an unusable state directory stops the worker with a clear reason and exit status 3."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stream.cli import app
from stream.commands.worker import PREFLIGHT_FAILED
from stream.config import KafkaSettings
from stream.kafka_local import free_port
from stream.preflight import PreflightError, check_kafka_security, check_state_dir


@contextlib.contextmanager
def tmpfs(mount_point: Path, *options: str) -> Iterator[Path]:
    """A tiny tmpfs at ``mount_point``; skips the test where mounting is not permitted (not root)."""
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(("size=256k", *options)), "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}); the free-space test still runs")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_creates_missing_parents_and_leaves_no_probe(tmp_path):
    state = tmp_path / "a" / "b" / "state"
    check_state_dir(state, min_free_bytes=0)
    assert state.is_dir()
    assert list(state.iterdir()) == []


def test_path_under_a_file(tmp_path):
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(PreflightError, match=r"cannot be created: Not a directory \(a parent is a file\)"):
        check_state_dir(tmp_path / "plain-file" / "state", min_free_bytes=0)


def test_state_dir_that_is_a_file(tmp_path):
    (tmp_path / "state").write_text("x")
    with pytest.raises(PreflightError, match="is a file, not a directory"):
        check_state_dir(tmp_path / "state", min_free_bytes=0)


def test_too_little_free_space_names_the_setting(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(PreflightError, match=r"MiB free, less than .* \(worker.state_min_free_bytes\)"):
        check_state_dir(tmp_path, min_free_bytes=free + 2**30)


def test_read_only_directory(tmp_path):
    if os.geteuid() != 0:
        read_only = tmp_path / "ro"
        read_only.mkdir()
        read_only.chmod(0o500)
        context: contextlib.AbstractContextManager[Path] = contextlib.nullcontext(read_only)
    else:  # root writes through file modes; only a read-only mount stops it
        context = tmpfs(tmp_path / "ro", "ro")
    refused = r"not writable: (Read-only file system|Permission denied)"
    with context as read_only, pytest.raises(PreflightError, match=refused):
        check_state_dir(read_only, min_free_bytes=0)


def test_full_disk(tmp_path):
    with tmpfs(tmp_path / "full") as disk:
        with (disk / "filler").open("wb") as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        with pytest.raises(PreflightError, match="not writable: No space left on device"):
            check_state_dir(disk / "state", min_free_bytes=0)
        assert not list((disk / "state").glob(".spikewatch-probe-*"))


def test_worker_command_exits_with_the_reason(tmp_path):
    (tmp_path / "plain-file").write_text("x")
    env = {"SPIKEWATCH_WORKER__STATE_DIR": str(tmp_path / "plain-file" / "state")}
    result = CliRunner().invoke(app, ["worker"], env=env)
    assert result.exit_code == PREFLIGHT_FAILED
    assert "spikewatch worker cannot start: state directory" in result.output
    assert "Not a directory" in result.output


def test_worker_process_exits_non_zero_on_a_full_state_disk(tmp_path):
    env = {
        **os.environ,
        "SPIKEWATCH_WORKER__STATE_DIR": str(tmp_path / "state"),
        "SPIKEWATCH_WORKER__STATE_MIN_FREE_BYTES": str(2**62),
        "SPIKEWATCH_KAFKA__BOOTSTRAP": f"127.0.0.1:{free_port()}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "stream.cli", "worker"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == PREFLIGHT_FAILED
    assert "worker.state_min_free_bytes" in result.stderr
    assert "Traceback" not in result.stderr


def test_plaintext_needs_no_broker_check():
    assert check_kafka_security(KafkaSettings(bootstrap=f"127.0.0.1:{free_port()}")) is None


def test_silent_bootstrap_is_a_note_not_an_error():
    kafka = KafkaSettings(bootstrap=f"127.0.0.1:{free_port()}", security_protocol="SSL")
    note = check_kafka_security(kafka, timeout=2)
    assert note is not None and "TLS and SASL not checked" in note
