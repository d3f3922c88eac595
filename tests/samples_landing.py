"""The contract's samples (`tests/fixtures/samples/`) as a landing folder, delivered an
hour ago (the sensor waits for files to settle; snapshot order is by delivery time)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "samples"


def age(path: Path, seconds: float = 3600) -> None:
    """Make a file look delivered a while ago."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def copy_samples(landing: Path) -> Path:
    """Every source folder of the samples into `landing`, writable, an hour old."""
    for folder in SAMPLES.iterdir():
        if folder.is_dir():
            shutil.copytree(folder, landing / folder.name)
    for path in landing.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
        if path.is_file():
            age(path)
    return landing
