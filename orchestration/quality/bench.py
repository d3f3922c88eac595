"""Quality-gate benchmark: every check on a built database, with its time (prints figures).

    python -m orchestration.quality.bench            # the build database of the settings

Results and Data Docs go to a temporary folder, never to the warehouse's reports.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from orchestration.quality.gate import run_check
from orchestration.quality.suites import discover
from orchestration.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-db", type=Path, default=get_settings().build_db)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = get_settings({"EDUAID_WAREHOUSE": tmp, "EDUAID_BUILD_DB": str(args.build_db)})
        total, expectations = 0.0, 0
        print(f"{'check':<36}{'expectations':>13}{'failed':>8}{'seconds':>9}")
        for check in discover():
            t0 = time.perf_counter()
            results = run_check(settings, check, "bench")
            seconds = time.perf_counter() - t0
            total += seconds
            expectations += len(results)
            failed = sum(not r.success for r in results)
            print(f"{check.name:<36}{len(results):>13}{failed:>8}{seconds:>9.1f}")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"{'all checks':<36}{expectations:>13}{'':>8}{total:>9.1f}")
    print(f"peak memory {peak_gb:.2f} GB")


if __name__ == "__main__":
    main()
