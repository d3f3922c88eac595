"""A sensor on the landing folder: one run per new content, keyed by content hash."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    in_process_executor,
    sensor,
)

from orchestration.ingest.assets import raw_asset_key
from orchestration.ingest.loader import landing_files
from orchestration.ingest.reading import SOURCES
from orchestration.settings import get_settings

# In one process, one asset after another: DuckDB allows a single writer per file.
raw_ingest_job = define_asset_job(
    "raw_ingest",
    selection=AssetSelection.groups("raw"),
    executor_def=in_process_executor,
    description="Load the landing folder into the raw schema of the build database.",
)

# A file younger than this may still be being copied; the next tick takes it.
SETTLE_SECONDS = 10.0


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
    landing: Path, known: dict[str, list], now: float, settle_seconds: float = SETTLE_SECONDS
) -> list[LandingFile]:
    """Settled files of every source folder; a file is re-hashed only when its size or
    modification time changed since the last scan (`known`: key -> [size, mtime_ns, sha])."""
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


def plan_ingest(files: list[LandingFile], cursor: str | None) -> tuple[RunRequest | None, str]:
    """The run request for content not seen before (None if there is none), and the
    new cursor. The run key is the new content's hash (or the hash of the sorted new
    hashes), so the same content never starts two loads, whatever its name."""
    state = json.loads(cursor) if cursor else {}
    seen = set(state.get("seen", []))
    new = [f for f in files if f.sha256 not in seen]
    new_hashes = sorted({f.sha256 for f in new})
    state = {
        "seen": sorted(seen | set(new_hashes)),
        "files": {f"{f.source}/{f.name}": [f.size, f.mtime_ns, f.sha256] for f in files},
    }
    if not new_hashes:
        return None, json.dumps(state)
    if len(new_hashes) == 1:
        content_key = new_hashes[0]
    else:
        content_key = hashlib.sha256("\n".join(new_hashes).encode()).hexdigest()
    sources = sorted({f.source for f in new}, key=SOURCES.index)
    request = RunRequest(
        run_key=f"raw_ingest:{content_key}",
        asset_selection=[raw_asset_key(s) for s in sources],
        tags={
            "eduaid/new_files": str(len(new)),
            "eduaid/new_file_names": ", ".join(f"{f.source}/{f.name}" for f in new)[:1000],
        },
    )
    return request, json.dumps(state)


@sensor(
    job=raw_ingest_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches <landing>/<source>/ and requests one raw load per new file content.",
)
def landing_sensor(context: SensorEvaluationContext):
    settings = get_settings()
    state = json.loads(context.cursor) if context.cursor else {}
    files = scan_landing(settings.landing, state.get("files", {}), now=time.time())
    request, cursor = plan_ingest(files, context.cursor)
    if request is None:
        return SensorResult(skip_reason=SkipReason("no new file content"), cursor=cursor)
    return SensorResult(run_requests=[request], cursor=cursor)
