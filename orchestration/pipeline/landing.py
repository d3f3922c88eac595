"""The landing folder as the sensor sees it: settled files and their content hashes.

Pure functions (no Dagster context): scanning, and planning a run for new content.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from orchestration.ingest.loader import landing_files
from orchestration.ingest.reading import SOURCES
from orchestration.pipeline.fingerprint import fingerprint


@dataclass(frozen=True)
class LandingFile:
    source: str
    name: str
    size: int
    mtime_ns: int
    sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scan_landing(
    landing: Path, known: dict[str, list], now: float, settle_seconds: float
) -> list[LandingFile]:
    """Settled files of every source folder (a file younger than `settle_seconds` may
    still be being copied: the next tick takes it); a file is re-hashed only when its size
    or modification time changed since the last scan (`known`: key -> [size, mtime_ns, sha])."""
    found = []
    for source in SOURCES:
        for name, path in landing_files(landing, source):
            stat = path.stat()
            if now - stat.st_mtime < settle_seconds:
                continue
            key = f"{source}/{name}"
            cached = known.get(key)
            if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
                sha = cached[2]
            else:
                sha = sha256_file(path)
            found.append(LandingFile(source, name, stat.st_size, stat.st_mtime_ns, sha))
    return found


def landing_fingerprint(files: list[LandingFile]) -> str:
    return fingerprint((f.source, f.sha256) for f in files)


@dataclass(frozen=True)
class Plan:
    """What a tick found: the new files (none: nothing to run), the run key, the cursor."""

    new: list[LandingFile]
    run_key: str | None
    cursor: str


def plan_run(files: list[LandingFile], cursor: str | None, job_name: str) -> Plan:
    """New content is content not seen before, whatever its name. The run key is the new
    content's hash (or the hash of the sorted new hashes), so the same content never
    starts two runs."""
    state = json.loads(cursor) if cursor else {}
    seen = set(state.get("seen", []))
    new = [f for f in files if f.sha256 not in seen]
    new_hashes = sorted({f.sha256 for f in new})
    state = {
        "seen": sorted(seen | set(new_hashes)),
        "files": {f"{f.source}/{f.name}": [f.size, f.mtime_ns, f.sha256] for f in files},
    }
    if not new_hashes:
        return Plan([], None, json.dumps(state))
    if len(new_hashes) == 1:
        content_key = new_hashes[0]
    else:
        content_key = hashlib.sha256("\n".join(new_hashes).encode()).hexdigest()
    return Plan(new, f"{job_name}:{content_key}", json.dumps(state))
