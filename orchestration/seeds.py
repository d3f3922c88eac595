"""The reference data (seeds/*.csv) as the pipeline's Python reads it: the ingest's header
vocabulary, the quality thresholds' reference sets, the reports' programme, stage and
finding-type order. dbt loads the same files as its seeds. (The generator, eduaid_synth,
reads them with its own small reader: it does not depend on the pipeline it tests.)"""

from __future__ import annotations

import csv
from pathlib import Path

from orchestration.settings import SEEDS_DIR


def read_seed(name: str, seeds_dir: Path = SEEDS_DIR) -> list[dict[str, str]]:
    """The rows of seeds/<name>, in file order, every value text."""
    with (seeds_dir / name).open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))
