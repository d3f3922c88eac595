"""What a run was made of: a fingerprint of the landing folder's contents.

The fingerprint is the hash of the sorted (source, content hash) pairs of the files in
the landing folder: names and times do not count, as the ingest identifies files by
content. The publish step records the fingerprint of what this run ingested (read back
from `raw.file_sightings`: the files each source's latest load saw); the landing sensor
and the schedule compare the landing folder's fingerprint now with the last published
one and start nothing when they are equal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import duckdb


def fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    text = "\n".join(f"{source}/{sha}" for source, sha in sorted(set(pairs)))
    return hashlib.sha256(text.encode()).hexdigest()


def ingested_fingerprint(build_db: Path) -> str | None:
    """The fingerprint of the files the latest load of each source saw (None: no load)."""
    if not Path(build_db).exists():
        return None
    con = duckdb.connect()  # attached read-only: dbt-duckdb may hold the file in process
    try:
        literal = str(Path(build_db).resolve()).replace("'", "''")
        con.execute(f"attach '{literal}' as build (read_only)")
        rows = con.execute(
            """select source, file_sha256 from build.raw.file_sightings
            qualify last_seen_at = max(last_seen_at) over (partition by source)"""
        ).fetchall()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    return fingerprint(rows) if rows else None
