"""Command line: ``python -m eduaid_synth generate --scale 1 --seed 7``.

Scale N simulates N counties (county 0 is 示范县); each county is simulated,
rendered and its truth computed independently, two at a time on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import truth as truth_mod
from .exports import ExportConfig, write_county
from .payments import PlantConfig, build_payments
from .world import WorldConfig, make_county, simulate


def generate_county(
    idx: int,
    seed: int,
    landing: Path,
    truth_dir: Path,
    csv_only: bool,
    size: float = 1.0,
    render_workers: int = 1,
) -> dict:
    rng = np.random.default_rng([seed, idx])
    county = make_county(idx, rng)
    t0 = time.perf_counter()
    world_cfg = WorldConfig()
    world = simulate(
        county, replace(world_cfg, cohort_size=round(world_cfg.cohort_size * size)), rng
    )
    pay = build_payments(world, PlantConfig().scaled(size * county.size), rng)
    t1 = time.perf_counter()
    delivered = write_county(
        world, pay, landing, seed, ExportConfig(csv_only=csv_only), workers=render_workers
    )
    t2 = time.perf_counter()
    tr = truth_mod.compute(world, pay, delivered)
    part = truth_dir / "_parts" / f"{idx:04d}"
    truth_mod.write(tr, part)
    files = pd.DataFrame(delivered.files)
    files["quirks"] = files["quirks"].map(
        lambda q: json.dumps(q, ensure_ascii=False, sort_keys=True)
    )
    files.insert(0, "county_code", county.code)
    truth_mod.write_table(part, "files", files)
    return {
        "county": county.name,
        "simulate_s": t1 - t0,
        "render_s": t2 - t1,
        "truth_s": time.perf_counter() - t2,
        "files": len(files),
        "records": int(files["n_records"].sum()),
    }


class _TruthMerger:
    """Moves each county's truth part into the merged tables as soon as it is done (a
    table is a folder of one Parquet file per county, in county order) and deletes the
    part, so that no long merge is left for the end."""

    def __init__(self, truth_dir: Path):
        self.truth_dir = truth_dir

    def add(self, idx: int) -> None:
        part = self.truth_dir / "_parts" / f"{idx:04d}"
        for table in sorted(p for p in part.iterdir() if p.is_dir()):
            target = self.truth_dir / table.name
            target.mkdir(exist_ok=True)
            for piece in table.glob("*.parquet"):
                piece.rename(target / f"county-{idx:04d}.parquet")
        if idx == 0:
            shutil.copy(part / "README.md", self.truth_dir / "README.md")
        shutil.rmtree(part)

    def close(self) -> None:
        shutil.rmtree(self.truth_dir / "_parts")


def generate(
    scale: int,
    seed: int,
    landing: Path,
    truth_dir: Path,
    force: bool = False,
    workers: int = 2,
    csv_only: bool | None = None,
    size: float = 1.0,
) -> list[dict]:
    """Write a landing folder of ``scale`` counties and its truth. ``size`` shrinks each
    county (tests use small ones); plants shrink with it."""
    if truth_dir.resolve().is_relative_to(landing.resolve()):
        raise SystemExit("the truth folder must not be inside the landing folder")
    if landing.exists() and any(landing.iterdir()):
        if not force:
            raise SystemExit(f"{landing} is not empty (use --force to replace it)")
        shutil.rmtree(landing)
    if truth_dir.exists():
        shutil.rmtree(truth_dir)
    landing.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    csv_only = scale > 1 if csv_only is None else csv_only  # Excel caps a sheet at ~1M rows
    args = [(i, seed, landing, truth_dir, csv_only, size) for i in range(scale)]
    merger = _TruthMerger(truth_dir)
    results = []
    if scale == 1 or workers == 1:
        for a in args:
            results.append(generate_county(*a, render_workers=workers))
            merger.add(a[0])
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for a, res in zip(
                args, pool.map(generate_county, *zip(*args, strict=True)), strict=True
            ):
                results.append(res)
                merger.add(a[0])
    merger.close()
    (truth_dir / "generation.json").write_text(
        json.dumps(
            {"scale": scale, "seed": seed, "size": size, "csv_only": csv_only, "counties": results},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return results


def _tree_rss() -> int:
    """Resident bytes of this process and its descendants (Linux /proc; 0 elsewhere)."""
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        parent, rss = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                with open(f"/proc/{entry}/statm", "rb") as fh:
                    rss[int(entry)] = int(fh.read().split()[1]) * page
                parent[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    except OSError:
        return 0
    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(c for c, pp in parent.items() if pp == pid)
    return total


class _MemorySampler(threading.Thread):
    """Peak of the summed resident memory of the run's processes, sampled every 0.5 s."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.peak = max(self.peak, _tree_rss())


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="eduaid_synth", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("generate", "bench"):
        p = sub.add_parser(name)
        p.add_argument("--scale", type=int, default=1)
        p.add_argument("--seed", type=int, default=7)
        p.add_argument(
            "--landing", type=Path, default=Path(os.environ.get("EDUAID_LANDING", "data/landing"))
        )
        p.add_argument(
            "--truth", type=Path, default=Path(os.environ.get("EDUAID_TRUTH", "data/truth"))
        )
        p.add_argument("--workers", type=int, default=2)
        p.add_argument("--csv-only", action="store_true", default=None)
        p.add_argument("--force", action="store_true")
        p.add_argument("--size", type=float, default=1.0, help="county size factor (tests: 0.05)")
    a = ap.parse_args(argv)
    if a.cmd == "bench":
        a.force = True
    sampler = _MemorySampler()
    if a.cmd == "bench":
        sampler.start()
    t0 = time.perf_counter()
    res = generate(
        a.scale,
        a.seed,
        a.landing,
        a.truth,
        force=a.force,
        workers=a.workers,
        csv_only=a.csv_only,
        size=a.size,
    )
    dt = time.perf_counter() - t0
    sampler.done.set()
    records = sum(r["records"] for r in res)
    files = sum(r["files"] for r in res)
    print(
        f"generated scale {a.scale} (seed {a.seed}): {len(res)} counties, {files} files, "
        f"{records:,} records in {dt:.1f} s"
    )
    print(f"landing: {a.landing}   truth: {a.truth}")
    if a.cmd == "bench":
        print(
            f"wall time {dt:.1f} s; peak memory (largest process) {_peak_rss_mb():.0f} MB, "
            f"(all processes together, sampled) {sampler.peak / 2**20:.0f} MB; "
            f"{records / dt:,.0f} records/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
