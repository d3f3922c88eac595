"""`make bench-pipeline SCALE=N`: the whole pipeline on a landing at scale N, per stage.

Generates the landing (or reuses `<bench dir>/scale-N/landing`), runs `eduaid_pipeline`
in process on a fresh warehouse, and prints one table: stage, seconds, share of the
total, peak RSS while the stage ran (sampled every 0.2 s, this process and its children),
rows per second; then the ingest against bare DuckDB `read_csv` (all columns as text) on
the same CSV files, measured side by side here. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import duckdb


def _rss_mb() -> float:
    """Resident memory of this process and its children now (MB), from /proc."""
    total = 0
    me = os.getpid()
    pids = [me]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{me}/task/{me}/children").read_text().split()]
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.time(), _rss_mb()))
            time.sleep(0.2)


def _stage(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return "ingest"
    if step_key == "eduaid_dbt":
        return "dbt build"
    if step_key.startswith("warehouse__published"):
        return "publish"
    if step_key.startswith("warehouse__reports"):
        return "reports"
    return "quality gate"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "eduaid-bench")
    args = parser.parse_args()
    root = args.dir / f"scale-{args.scale}"
    landing, warehouse = root / "landing", root / "warehouse"
    if not landing.exists():
        from eduaid_synth.cli import generate

        print(f"generating scale {args.scale} into {landing} ...", flush=True)
        generate(args.scale, args.seed, landing, root / "truth", force=True)
    import shutil

    shutil.rmtree(warehouse, ignore_errors=True)
    os.environ.update(
        EDUAID_LANDING=str(landing),
        EDUAID_WAREHOUSE=str(warehouse),
        EDUAID_KEY_FILE=str(root / "key"),
        DAGSTER_HOME=str(warehouse / "dagster_home"),
    )
    from orchestration.dbt.keys import ensure_key
    from orchestration.definitions import defs
    from orchestration.pipeline.instance import pipeline_instance
    from orchestration.settings import get_settings

    settings = get_settings()
    ensure_key(settings)
    sampler = Sampler()
    sampler.start()
    started = time.time()
    result = defs.resolve_job_def("eduaid_pipeline").execute_in_process(
        instance=pipeline_instance(settings), raise_on_error=False
    )
    total = time.time() - started
    sampler.stop.set()
    windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for step in pipeline_instance(settings).get_run_step_stats(result.run_id):
        if step.start_time and step.end_time:
            windows[_stage(step.step_key)].append((step.start_time, step.end_time))
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        rows_read = con.execute(
            "select coalesce(sum(rows_read), 0) from raw.load_manifest"
        ).fetchone()[0]
        csv_files = [
            str(landing / source / name)
            for source, name in con.execute(
                "select source, file_name from raw.load_manifest where file_format = 'csv'"
            ).fetchall()
        ]
    print(
        f"\nscale {args.scale}: {rows_read:,} rows read, run {'ok' if result.success else 'FAILED'}"
    )
    print(f"{'stage':<14}{'seconds':>10}{'share':>8}{'peak RSS MB':>13}{'rows/s':>12}")
    for stage in ("ingest", "quality gate", "dbt build", "publish", "reports"):
        spans = windows.get(stage, [])
        seconds = sum(b - a for a, b in spans)
        peak = max((m for t, m in sampler.samples for a, b in spans if a <= t <= b), default=0)
        rate = f"{rows_read / seconds:,.0f}" if seconds and stage == "ingest" else ""
        print(f"{stage:<14}{seconds:>10.1f}{seconds / total:>8.1%}{peak:>13,.0f}{rate:>12}")
    print(f"{'total':<14}{total:>10.1f}{1:>8.0%}{max(m for _, m in sampler.samples):>13,.0f}")
    if csv_files:
        t0 = time.time()
        with duckdb.connect() as con:
            for path in csv_files:
                con.execute(
                    "select count(*) from read_csv(?, all_varchar = true, header = false, "
                    "auto_detect = true, ignore_errors = true, null_padding = true)",
                    [path],
                ).fetchone()
        bare = time.time() - t0
        ingest = sum(b - a for a, b in windows.get("ingest", []))
        print(
            f"ingest vs bare DuckDB read_csv on the {len(csv_files)} CSV files: bare {bare:.1f} s, "
            f"whole ingest {ingest:.1f} s (all formats, manifest and lineage included)"
        )
    print("incremental vs full: not measured yet (issue 14: no incremental models yet)")
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
