"""Load the landing folder without Dagster.

`python -m orchestration.ingest [--landing DIR] [--db PATH] [--source S] [--details]`
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from orchestration.ingest.loader import load_landing
from orchestration.ingest.reading import SOURCES
from orchestration.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m orchestration.ingest", description=__doc__)
    parser.add_argument("--landing", type=Path, default=settings.landing)
    parser.add_argument("--db", type=Path, default=settings.build_db)
    parser.add_argument("--source", action="append", choices=SOURCES)
    parser.add_argument("--details", action="store_true", help="print one line per file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    summary = load_landing(args.landing, args.db, sources=args.source or SOURCES)
    out = summary.as_dict()
    if not args.details:
        out.pop("details")
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    for f in summary.by_status("rejected"):
        print(f"rejected {f.source}/{f.file_name}: {f.error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
