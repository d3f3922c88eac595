"""Load landing files into the raw schema of the build database (DuckDB).

One transaction per file: its rows, its quarantined rows and its manifest row are
written together or not at all. Files are identified by content (sha256): a content
already loaded adds nothing, whatever its name; every (name, content) is recorded
in raw.file_sightings.

Counting: blank rows, title rows above the header, the header, totals rows and
sign-off rows are not data rows and are not counted. Every other row is read, and
is either loaded or quarantined (rows_read = rows_loaded + rows_quarantined).

This module finds the files and runs one file's transaction; the rest is one module per
part: schema.py (the raw tables), csv_files.py and excel_files.py (a file's sheets staged),
sheet.py (a staged sheet checked and written to raw, its warnings), manifest.py (what is
recorded about each file).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.ingest.csv_files import load_csv
from orchestration.ingest.excel_files import load_workbook
from orchestration.ingest.manifest import (
    FileResult,
    LoadSummary,
    record_sighting,
    unreconciled_note,
    write_manifest,
)
from orchestration.ingest.reading import (
    EXTENSIONS,
    SNAPSHOT_SOURCES,
    SOURCES,
    IngestError,
    SourceColumns,
    load_alias_table,
    snapshot_month,
)
from orchestration.ingest.schema import SOURCE_NAMES_CN, ensure_schema
from orchestration.ingest.sheet import FileContext

log = logging.getLogger(__name__)

CHECKPOINT_THRESHOLD = "256MB"


def connect(db_path: Path, timeout_seconds: float = 300.0) -> duckdb.DuckDBPyConnection:
    """Open the build database, waiting while another process holds its write lock."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            return duckdb.connect(str(db_path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def load_landing(
    landing: Path,
    db_path: Path,
    sources: Sequence[str] = SOURCES,
    seeds_dir: Path | None = None,
) -> LoadSummary:
    """Load every file of `<landing>/<source>/` for the given sources; the header
    vocabulary is that of `seeds_dir` (default: the project's seeds)."""
    from orchestration.settings import SEEDS_DIR

    specs = load_alias_table(seeds_dir or SEEDS_DIR)
    started = time.perf_counter()
    summary = LoadSummary()
    con = connect(Path(db_path))
    try:
        # Commits append to the write-ahead log, whose contents DuckDB also holds in
        # memory until a checkpoint: a checkpoint every CHECKPOINT_THRESHOLD of log
        # rather than per file (slow) or once at the end (memory grew with the load:
        # 9.6 GB at scale 20) keeps the peak flat at about 1 GB and costs no speed.
        con.execute(f"set checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        con.execute("set enable_progress_bar = false")
        ensure_schema(con, specs)
        loaded_at = datetime.now().replace(microsecond=0)
        for source in sources:
            summary.files.extend(load_source(con, specs[source], Path(landing), loaded_at))
        con.execute("checkpoint")
    finally:
        con.close()
    summary.seconds = time.perf_counter() - started
    return summary


def landing_files(landing: Path, source: str) -> list[tuple[str, Path]]:
    """(name inside <landing>/<source>/, path) of every delivered file, in the order
    they were delivered (modification time, then name), so that a copy of a file
    dropped again under another name is recorded under the name it came with first.
    Hidden files and Excel's `~$` lock files are not deliveries."""
    folder = landing / source
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith((".", "~$")) for part in rel.parts):
            continue
        try:
            if not path.is_file():
                continue
            mtime = path.stat().st_mtime
        except OSError:  # gone since the listing, or not ours to see: not a delivery now
            continue
        found.append((mtime, rel.as_posix(), path))
    return [(name, path) for _, name, path in sorted(found)]


def load_source(
    con: duckdb.DuckDBPyConnection, spec: SourceColumns, landing: Path, loaded_at: datetime
) -> list[FileResult]:
    results = []
    for name, path in landing_files(landing, spec.source):
        started = time.perf_counter()
        result = load_file(con, spec, path, name, loaded_at)
        if result is None:  # removed from the landing folder before it could be read
            continue
        result.seconds = round(time.perf_counter() - started, 3)
        results.append(result)
    return results


def printable_name(file_name: str) -> str:
    """A file name as text that can be stored and shown: the bytes of a name that is not
    UTF-8 (a GBK name from a zip made on Chinese Windows) are shown as `\\xd1`."""
    try:
        file_name.encode("utf-8")
        return file_name
    except UnicodeEncodeError:
        return os.fsencode(file_name).decode("utf-8", errors="backslashreplace")


def _name_note(file_name: str, shown: str) -> str | None:
    if shown == file_name:
        return None
    raw = os.fsencode(file_name)
    try:
        guess = f"，按 GBK 解读为“{raw.decode('gb18030')}”"
    except UnicodeDecodeError:
        guess = ""
    return (
        f"文件名不是 UTF-8 编码{guess}：无法识别的字节以 \\x 形式记录，请重新命名 / "
        "the file name is not UTF-8 (GBK?): its undecodable bytes are recorded as \\x escapes: "
        "rename the file"
    )


def load_file(
    con: duckdb.DuckDBPyConnection,
    spec: SourceColumns,
    path: Path,
    file_name: str,
    loaded_at: datetime,
) -> FileResult | None:
    """Load one file; whatever is wrong with it ends as the file rejected with a message
    (None: the file was removed before it could be read, so it is not a delivery)."""
    shown = printable_name(file_name)
    try:
        data = path.read_bytes()
        stat = path.stat()
    except FileNotFoundError:
        log.warning("%s/%s was removed before it could be read", spec.source, shown)
        return None
    except OSError as exc:
        return _reject_unreadable(con, spec, shown, loaded_at, exc)
    ctx = FileContext(
        source=spec.source,
        file_name=shown,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        delivered_at=datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0),
        loaded_at=loaded_at,
    )
    record_sighting(con, ctx)
    before = con.execute(
        "select status, loaded_at, file_name, error from raw.load_manifest where file_sha256 = ?",
        [ctx.sha256],
    ).fetchone()
    if before and before[0] == "loaded":
        return FileResult(spec.source, shown, ctx.sha256, "already_loaded")
    con.begin()
    try:
        if before:  # rejected before: try again (the alias table may have been fixed)
            con.execute("delete from raw.load_manifest where file_sha256 = ?", [ctx.sha256])
        result = _load_file_content(con, spec, path, data, ctx, _name_note(file_name, shown))
        con.commit()
        return result
    except Exception as exc:
        with contextlib.suppress(duckdb.Error):  # the failure may have ended it already
            con.rollback()
        if isinstance(exc, IngestError):
            message = str(exc)
        else:
            log.exception("unexpected error loading %s/%s", spec.source, shown)
            message = (
                f"文件 {shown} 读取时出现意外错误，未能入库（请将此文件转交技术人员） / "
                f"{shown}: unexpected error while loading: {exc!r}"
            )
        # the rollback restored the row of an earlier rejection of the same content
        if before and before[1] == loaded_at and before[2] != shown:
            # the same bytes came under another name earlier in this run: that row stays
            # and names this copy too, so that both names are on record with their reason
            _add_copy_to_rejection(con, ctx.sha256, before[2], before[3], shown, message)
        else:
            con.execute("delete from raw.load_manifest where file_sha256 = ?", [ctx.sha256])
            write_manifest(con, ctx, status="rejected", error=message)
        return FileResult(
            spec.source, shown, ctx.sha256, "rejected", error=message,
            file_format=ctx.file_format,
        )  # fmt: skip


COPY_NOTE = "；同一文件（内容相同）"


def _add_copy_to_rejection(
    con: duckdb.DuckDBPyConnection,
    sha256: str,
    first_name: str,
    first_error: str | None,
    name: str,
    message: str,
) -> None:
    first = (first_error or "").split(COPY_NOTE)[0]  # without the copies already noted
    if message.replace(name, first_name) == first:
        note = (
            f"{COPY_NOTE}又以 {name} 的名字送达，同样拒收 / "
            f"the same file (same content) was also delivered as {name}, rejected likewise"
        )
    else:
        note = (
            f"{COPY_NOTE}又以 {name} 的名字送达，也被拒收 / "
            f"the same file (same content) was also delivered as {name}, rejected too: {message}"
        )
    con.execute(
        "update raw.load_manifest set error = coalesce(error, '') || ? where file_sha256 = ?",
        [note, sha256],
    )


def _reject_unreadable(
    con: duckdb.DuckDBPyConnection,
    spec: SourceColumns,
    file_name: str,
    loaded_at: datetime,
    exc: OSError,
) -> FileResult:
    """A file that is listed but cannot be read (permissions, a device error): rejected under
    a key made from its name, since its content, and so its hash, is unknown."""
    ctx = FileContext(
        source=spec.source,
        file_name=file_name,
        sha256="unreadable:" + hashlib.sha256(f"{spec.source}/{file_name}".encode()).hexdigest(),
        size=None,
        delivered_at=None,
        loaded_at=loaded_at,
    )
    message = (
        f"文件 {file_name} 无法打开读取（{exc.strerror or type(exc).__name__}）："
        f"请检查文件权限后重新提交 / {file_name}: the file cannot be read ({exc!r})"
    )
    record_sighting(con, ctx)
    con.execute("delete from raw.load_manifest where file_sha256 = ?", [ctx.sha256])
    write_manifest(con, ctx, status="rejected", error=message)
    return FileResult(spec.source, file_name, ctx.sha256, "rejected", error=message)


def _load_file_content(
    con: duckdb.DuckDBPyConnection,
    spec: SourceColumns,
    path: Path,
    data: bytes,
    ctx: FileContext,
    name_note: str | None = None,
) -> FileResult:
    name = ctx.file_name
    ext = path.suffix.lower()
    if ext not in EXTENSIONS:
        shown = ext or "(no extension)"
        raise IngestError(
            f"{name}: unknown file type {shown!r}; expected one of {', '.join(EXTENSIONS)}",
            f"文件 {name} 的类型（{ext or '无扩展名'}）无法识别："
            f"只接收 {'、'.join(EXTENSIONS)} 文件",
        )
    ctx.file_format = ext.lstrip(".")
    if spec.source in SNAPSHOT_SOURCES:
        ctx.snapshot = _snapshot_of(name, spec.source, ctx.loaded_at)
    if not data:
        raise IngestError(f"{name}: empty file (0 bytes)", f"文件 {name} 为空（0 字节）")
    if ext == ".csv":
        outcomes, warnings = load_csv(con, spec, data, ctx)
    else:
        outcomes, warnings = load_workbook(con, spec, path, ctx)
    if name_note:
        warnings.insert(0, name_note)
    for outcome in outcomes:  # headers close to a known spelling: likely typos
        warnings.extend(outcome.notes)
        warnings.extend(outcome.cmap.suggestion_notes())
    rows_loaded = sum(o.rows_loaded for o in outcomes)
    rows_quarantined = sum(o.rows_quarantined for o in outcomes)
    if rows_loaded + rows_quarantined == 0:
        raise IngestError(
            f"{name}: no data rows below the header", f"文件 {name} 的表头下面没有数据行"
        )
    stated = [o for o in outcomes if o.stated is not None]
    kinds = {o.stated.kind for o in stated}
    stated_value = loaded_value = kind = reconciled = None
    if len(kinds) == 1:
        kind = kinds.pop()
        stated_value = sum((o.stated.value for o in stated), Decimal(0))
        loaded_value = sum((o.loaded_total or Decimal(0) for o in stated), Decimal(0))
        reconciled = stated_value == loaded_value
        if not reconciled:
            warnings.append(unreconciled_note(stated, kind, stated_value, loaded_value))
    if rows_quarantined:
        warnings.append(
            f"{rows_quarantined} 行已隔离（无法读取，行号和原因见 raw.quarantine） / "
            f"{rows_quarantined} row{'s' if rows_quarantined != 1 else ''} quarantined"
        )
    cmaps = {o.name or "": o.cmap.as_dict() for o in outcomes}
    write_manifest(
        con,
        ctx,
        status="loaded",
        sheets=[o.name for o in outcomes if o.name is not None],
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        stated_total=stated_value,
        loaded_total=loaded_value,
        total_kind=kind,
        is_total_reconciled=reconciled,
        warnings=warnings,
        column_map=cmaps,
    )
    return FileResult(
        ctx.source,
        ctx.file_name,
        ctx.sha256,
        "loaded",
        rows_read=rows_loaded + rows_quarantined,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        is_total_reconciled=reconciled,
        file_format=ctx.file_format,
    )


def _snapshot_of(name: str, source: str, loaded_at: datetime) -> date:
    """The snapshot month of a snapshot source's file, from its name: present, a real
    month, and not after the month of the load (a snapshot cannot come from the future)."""
    try:
        month = snapshot_month(name)
    except ValueError as exc:
        raise IngestError(
            f"{name}: bad snapshot month in the name: {exc}",
            f"文件 {name} 的文件名中的快照月份无效（月份应为 01–12）",
        ) from exc
    if month is None:
        raise IngestError(
            f"{name}: no snapshot month (YYYYMM, YYYY-MM or YYYY年M月) "
            f"in the file name of a {source} export",
            f"文件 {name} 的文件名中没有快照月份：{SOURCE_NAMES_CN.get(source, source)}文件"
            "须以月份命名（YYYYMM、YYYY-MM 或 YYYY年M月，如 202009）",
        )
    this_month = loaded_at.date().replace(day=1)
    if month > this_month:
        raise IngestError(
            f"{name}: the snapshot month in the name, {month:%Y-%m}, is after the month of "
            f"this load ({this_month:%Y-%m}): a snapshot cannot come from the future; "
            "check the file name",
            f"文件 {name} 的文件名中的快照月份 {month.year}年{month.month}月 晚于本次接收的月份"
            f"（{this_month.year}年{this_month.month}月），快照不可能来自将来：请核对文件名",
        )
    return month
