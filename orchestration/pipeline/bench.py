"""`make bench-pipeline SCALE=N`: the whole pipeline on a landing at scale N, per stage.

Generates the landing (or reuses `<bench dir>/scale-N/landing`), runs `eduaid_pipeline`
in process on a fresh warehouse without the newest payment batch, and prints one table:
stage, seconds, share of the total, peak RSS while the stage ran (sampled every 0.2 s,
this process and its children), rows per second; the slowest dbt nodes and quality
checks. Then the batch arrives and the job runs again on the same warehouse (staging is
incremental): the same table, and the ratio of the two runs. Last, the ingest against
bare DuckDB `read_csv` (all columns as text) on the same CSV files, measured side by side
here. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
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


def newest_payment_batch(landing: Path) -> list[Path]:
    """The newest payment list(s) of the landing folder, by delivery time: the new batch
    of the incremental measurement (one more file for a term already loaded)."""
    files = [p for p in (landing / "disbursements").iterdir() if p.is_file()]
    newest = max(p.stat().st_mtime for p in files)
    return sorted(p for p in files if p.stat().st_mtime == newest)


@dataclass
class Timed:
    result: object
    total: float
    windows: dict[str, list[tuple[float, float]]]
    steps: list[tuple[str, float]]  # step key, seconds


def run_pipeline(settings) -> Timed:
    from orchestration.definitions import defs
    from orchestration.pipeline.instance import pipeline_instance

    started = time.time()
    result = defs.resolve_job_def("eduaid_pipeline").execute_in_process(
        instance=pipeline_instance(settings), raise_on_error=False
    )
    total = time.time() - started
    windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    steps = []
    for step in pipeline_instance(settings).get_run_step_stats(result.run_id):
        if step.start_time and step.end_time:
            windows[_stage(step.step_key)].append((step.start_time, step.end_time))
            steps.append((step.step_key, step.end_time - step.start_time))
    return Timed(result, total, windows, steps)


def print_stages(title: str, timed: Timed, sampler: Sampler, rows_read: int) -> None:
    print(f"\n{title}: run {'ok' if timed.result.success else 'FAILED'}")
    print(f"{'stage':<14}{'seconds':>10}{'share':>8}{'peak RSS MB':>13}{'rows/s':>12}")
    for stage in ("ingest", "quality gate", "dbt build", "publish", "reports"):
        spans = timed.windows.get(stage, [])
        seconds = sum(b - a for a, b in spans)
        peak = max((m for t, m in sampler.samples for a, b in spans if a <= t <= b), default=0)
        rate = f"{rows_read / seconds:,.0f}" if seconds and stage == "ingest" else ""
        print(f"{stage:<14}{seconds:>10.1f}{seconds / timed.total:>8.1%}{peak:>13,.0f}{rate:>12}")
    peak = max((m for t, m in sampler.samples), default=0)
    print(f"{'total':<14}{timed.total:>10.1f}{1:>8.0%}{peak:>13,.0f}")


def slowest_dbt_nodes(project_dir: Path, since: float, most: int = 10) -> list[tuple[str, float]]:
    """The slowest nodes of the dbt invocations since `since` (their run_results.json)."""
    nodes: dict[str, float] = {}
    for path in (project_dir / "target").rglob("run_results.json"):
        if path.stat().st_mtime >= since:
            for r in json.loads(path.read_text(encoding="utf-8"))["results"]:
                nodes[r["unique_id"]] = nodes.get(r["unique_id"], 0) + r["execution_time"]
    return sorted(nodes.items(), key=lambda kv: -kv[1])[:most]


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
    shutil.rmtree(warehouse, ignore_errors=True)
    os.environ.update(
        EDUAID_LANDING=str(landing),
        EDUAID_WAREHOUSE=str(warehouse),
        EDUAID_KEY_FILE=str(root / "key"),
        DAGSTER_HOME=str(warehouse / "dagster_home"),
    )
    from orchestration.dbt.keys import ensure_key
    from orchestration.dbt.project import DBT_PROJECT_DIR, prepare
    from orchestration.ingest.bench import csv_against_bare_duckdb, print_csv_against_bare
    from orchestration.settings import get_settings

    settings = get_settings()
    ensure_key(settings)
    # parsed with this warehouse's profile, as `make run` has it after its first run: dbt
    # then parses partially, not the whole project in each invocation
    prepare(force=True)
    batch = newest_payment_batch(landing)
    held = root / "held_back"
    held.mkdir(exist_ok=True)
    for path in batch:  # the newest batch arrives after the first run
        path.rename(held / path.name)
    sampler = Sampler()
    sampler.start()
    try:
        started = time.time()
        full = run_pipeline(settings)
        dbt_nodes = slowest_dbt_nodes(DBT_PROJECT_DIR, started)
    finally:
        for path in batch:
            (held / path.name).rename(path)
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        rows_read = con.execute(
            "select coalesce(sum(rows_read), 0) from raw.load_manifest"
        ).fetchone()[0]
    print(f"\nscale {args.scale}: {rows_read:,} rows read")
    print_stages("full build (a fresh warehouse, all but the newest payment batch)", full,
                 sampler, rows_read)  # fmt: skip
    print("\nslowest dbt nodes (seconds):")
    for node, seconds in dbt_nodes:
        print(f"  {seconds:>8.1f}  {node}")
    checks = sorted(
        ((k, v) for k, v in full.steps if _stage(k) == "quality gate"), key=lambda kv: -kv[1]
    )
    print("slowest quality checks (seconds):")
    for key, seconds in checks[:5]:
        print(f"  {seconds:>8.1f}  {key}")

    new = run_pipeline(settings)
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        new_rows = con.execute(
            "select coalesce(sum(rows_read), 0) from raw.load_manifest where file_name in "
            f"({', '.join('?' for _ in batch)})",
            [p.name for p in batch],
        ).fetchone()[0]
    sampler.stop.set()
    names = ", ".join(p.name for p in batch)
    print_stages(f"new batch: {names} ({new_rows:,} rows), incremental", new, sampler, new_rows)
    print(
        f"incremental vs full: {new.total:.1f} s against {full.total:.1f} s: "
        f"ratio {new.total / full.total:.2f} (target <= 0.20)"
    )
    print_csv_against_bare(csv_against_bare_duckdb(landing))
    return 0 if full.result.success and new.result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
