"""Find the real Prometheus and Alertmanager binaries; a missing one fails the test with the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INSTALL_HINT = "install Debian's packages: apt-get install -y prometheus prometheus-alertmanager"


def binary(*names: str) -> str:
    """Path of the first of ``names`` on PATH or in /usr/bin; fails the test (not skips) if none."""
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    pytest.fail(f"{' / '.join(names)} not found: {INSTALL_HINT}", pytrace=False)
