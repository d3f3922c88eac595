"""Load landing files into the raw schema of the build database (DuckDB).

One transaction per file: its rows, its quarantined rows and its manifest row are
written together or not at all. Files are identified by content (sha256): a content
already loaded adds nothing, whatever its name; every (name, content) is recorded
in raw.file_sightings.

Counting: blank rows, title rows above the header, the header, totals rows and
sign-off rows are not data rows and are not counted. Every other row is read, and
is either loaded or quarantined (rows_read = rows_loaded + rows_quarantined).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from orchestration import money
from orchestration.ingest import excel
from orchestration.ingest.reading import (
    AMOUNT_COLUMN,
    EXTENSIONS,
    HEADER_SCAN_ROWS,
    SNAPSHOT_SOURCES,
    SOURCES,
    TRAILER_HINT_NEEDLES,
    TRAILER_HINT_PATTERN,
    ColumnMap,
    IngestError,
    SourceColumns,
    StatedTotal,
    decode_text,
    decode_whole,
    find_header_row,
    frame_records,
    is_blank_line,
    is_grand_total,
    load_alias_table,
    map_header,
    missing_columns_error,
    normalise_header,
    parse_amount,
    parse_csv_record,
    row_kind,
    snapshot_month,
    stated_total,
)

log = logging.getLogger(__name__)

# The registries as county staff name them (messages and the run summary are Chinese first).
SOURCE_NAMES_CN = {
    "disbursements": "资助发放名单",
    "dropout_ledger": "控辍保学台账",
    "households": "建档立卡贫困人口",
    "population": "户籍人口",
    "schools": "学校名录",
    "students": "学籍",
}
# No export holds a longer cell: Excel's limit. A longer one is not registry data (and no
# workbook could show it): its row is quarantined.
MAX_CELL_CHARS = 32767
# Cells that a spreadsheet would take for a formula; kept as written, with a warning.
FORMULA_STARTS = ("=", "+", "-", "@")
FORMULA_SCAN_LIMIT = 10_000  # candidate rows fetched per sheet (refunds start with "-")
FORMULA_EXAMPLES = 3

LINEAGE_COLUMNS = {
    "extra_columns": "VARCHAR",
    "_source": "VARCHAR",
    "_file_name": "VARCHAR",
    "_file_sha256": "VARCHAR",
    "_sheet_name": "VARCHAR",
    "_row_number": "INTEGER",
    "_snapshot_month": "DATE",
    "_delivered_at": "TIMESTAMP",
    "_loaded_at": "TIMESTAMP",
}

MANIFEST_DDL = """
create table if not exists raw.load_manifest (
    file_sha256 varchar primary key,
    source varchar not null,
    file_name varchar not null,
    file_size bigint,
    snapshot_month date,
    delivered_at timestamp,
    loaded_at timestamp,
    file_format varchar,
    encoding varchar,
    sheets varchar,
    rows_read integer,
    rows_loaded integer,
    rows_quarantined integer,
    stated_total decimal(18, 2),
    loaded_total decimal(18, 2),
    total_kind varchar,
    is_total_reconciled boolean,
    status varchar not null,
    error varchar,
    warnings varchar,
    column_map varchar
)"""

QUARANTINE_DDL = """
create table if not exists raw.quarantine (
    source varchar,
    file_name varchar,
    file_sha256 varchar,
    sheet_name varchar,
    row_number integer,
    reason varchar,
    raw_text varchar,
    loaded_at timestamp
)"""

SIGHTINGS_DDL = """
create table if not exists raw.file_sightings (
    source varchar,
    file_name varchar,
    file_sha256 varchar,
    file_size bigint,
    delivered_at timestamp,
    first_seen_at timestamp,
    last_seen_at timestamp,
    primary key (source, file_name, file_sha256)
)"""


@dataclass
class FileResult:
    source: str
    file_name: str
    file_sha256: str
    status: str  # loaded | rejected | already_loaded
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    is_total_reconciled: bool | None = None
    file_format: str | None = None
    seconds: float = 0.0


@dataclass
class LoadSummary:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def by_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    def as_dict(self) -> dict:
        return {
            "files": len(self.files),
            "loaded": len(self.by_status("loaded")),
            "already_loaded": len(self.by_status("already_loaded")),
            "rejected": len(self.by_status("rejected")),
            "rows_loaded": self.rows_loaded(),
            "rows_quarantined": self.rows_quarantined(),
            "seconds": round(self.seconds, 3),
            "details": [asdict(f) for f in self.files],
        }


# --------------------------------------------------------------------------- entry


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


# --------------------------------------------------------------------------- schema


def ensure_schema(con: duckdb.DuckDBPyConnection, specs: dict[str, SourceColumns]) -> None:
    con.execute("create schema if not exists raw")
    for source in SOURCES:
        wanted = {c: "VARCHAR" for c in specs[source].columns} | LINEAGE_COLUMNS
        cols = ", ".join(f'"{c}" {t}' for c, t in wanted.items())
        con.execute(f'create table if not exists raw."{source}" ({cols})')
        have = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw' and table_name = ?",
                [source],
            ).fetchall()
        }
        for col, typ in wanted.items():  # the seed gained a column since the table was made
            if col not in have:
                con.execute(f'alter table raw."{source}" add column "{col}" {typ}')
    con.execute(MANIFEST_DDL)
    con.execute(QUARANTINE_DDL)
    con.execute(SIGHTINGS_DDL)


# --------------------------------------------------------------------------- one file


@dataclass
class FileContext:
    source: str
    file_name: str
    sha256: str
    size: int | None
    delivered_at: datetime | None
    loaded_at: datetime
    snapshot: date | None = None
    file_format: str | None = None
    encoding: str | None = None


@dataclass
class SheetOutcome:
    name: str | None
    cmap: ColumnMap
    rows_loaded: int
    rows_quarantined: int
    stated: StatedTotal | None
    loaded_total: Decimal | None
    total_rows: list[int] = field(default_factory=list)  # the rows the stated total is on
    notes: list[str] = field(default_factory=list)  # warnings: both languages, row and column


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
            _write_manifest(con, ctx, status="rejected", error=message)
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
    _write_manifest(con, ctx, status="rejected", error=message)
    return FileResult(spec.source, file_name, ctx.sha256, "rejected", error=message)


def record_sighting(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> None:
    con.execute(
        """insert into raw.file_sightings values (?, ?, ?, ?, ?, ?, ?)
        on conflict do update set last_seen_at = excluded.last_seen_at""",
        [
            ctx.source,
            ctx.file_name,
            ctx.sha256,
            ctx.size,
            ctx.delivered_at,
            ctx.loaded_at,
            ctx.loaded_at,
        ],
    )


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
        outcomes, warnings = _load_csv(con, spec, data, ctx)
    else:
        outcomes, warnings = _load_workbook(con, spec, path, ctx)
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
            warnings.append(_unreconciled_note(stated, kind, stated_value, loaded_value))
    if rows_quarantined:
        warnings.append(
            f"{rows_quarantined} 行已隔离（无法读取，行号和原因见 raw.quarantine） / "
            f"{rows_quarantined} row{'s' if rows_quarantined != 1 else ''} quarantined"
        )
    cmaps = {o.name or "": o.cmap.as_dict() for o in outcomes}
    _write_manifest(
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


def _unreconciled_note(
    stated: list[SheetOutcome], kind: str, stated_value: Decimal, loaded_value: Decimal
) -> str:
    """`合计行（第12行）所列金额 … 与入库明细之和 … 不符` in both languages."""
    where_cn = "、".join(
        (f"工作表“{o.name}”" if o.name else "") + "、".join(f"第{r}行" for r in o.total_rows)
        for o in stated
    )
    where_en = ", ".join(
        (f"sheet {o.name} " if o.name else "") + ", ".join(f"row {r}" for r in o.total_rows)
        for o in stated
    )
    if kind == "amount":
        return (
            f"合计行（{where_cn}）所列金额 {stated_value} 元，与入库明细行的金额之和 "
            f"{loaded_value} 元不符 / loaded amount {loaded_value} differs from stated "
            f"{stated_value} (totals row: {where_en})"
        )
    return (
        f"合计行（{where_cn}）所列 {stated_value} 人（条），与入库的明细行数 {loaded_value} 不符 / "
        f"loaded count {loaded_value} differs from stated {stated_value} (totals row: {where_en})"
    )


def _write_manifest(
    con: duckdb.DuckDBPyConnection,
    ctx: FileContext,
    *,
    status: str,
    error: str | None = None,
    sheets: list[str] | None = None,
    rows_loaded: int = 0,
    rows_quarantined: int = 0,
    stated_total: Decimal | None = None,
    loaded_total: Decimal | None = None,
    total_kind: str | None = None,
    is_total_reconciled: bool | None = None,
    warnings: list[str] | None = None,
    column_map: dict | None = None,
) -> None:
    con.execute(
        "insert into raw.load_manifest values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ctx.sha256,
            ctx.source,
            ctx.file_name,
            ctx.size,
            ctx.snapshot,
            ctx.delivered_at,
            ctx.loaded_at,
            ctx.file_format,
            ctx.encoding,
            json.dumps(sheets, ensure_ascii=False) if sheets else None,
            rows_loaded + rows_quarantined,
            rows_loaded,
            rows_quarantined,
            stated_total,
            loaded_total,
            total_kind,
            is_total_reconciled,
            status,
            error,
            "; ".join(warnings) if warnings else None,
            json.dumps(column_map, ensure_ascii=False) if column_map else None,
        ],
    )


# --------------------------------------------------------------------------- CSV


def _load_csv(
    con: duckdb.DuckDBPyConnection, spec: SourceColumns, data: bytes, ctx: FileContext
) -> tuple[list[SheetOutcome], list[str]]:
    """A CSV file: DuckDB reads the body in bulk (`_stage_csv_bulk`) when the file
    decodes whole and every line after the header is one record; otherwise, line by line
    (`_stage_csv_by_line`: damaged bytes, quotes spanning lines, blank lines)."""
    staged = _stage_csv_bulk(con, spec, data, ctx) if BULK_CSV else None
    if staged is None:
        staged = _stage_csv_by_line(con, spec, data, ctx)
    header, header_row, cmap, quarantined, trailer = staged
    outcome = _finish_sheet(
        con,
        spec,
        ctx,
        None,
        cmap,
        [(str(i), h) for i, h in enumerate(header, 1)],
        header_row,
        quarantined,
        trailer,
    )
    _drop_stage(con)
    return [outcome], []


# header cells, header line, column map, quarantined (line, reason, text), totals rows
StagedCsv = tuple[list[str], int, ColumnMap, list[tuple[int, str, str]], list]
BULK_CSV = True  # False: every file line by line (the tests compare the two paths)
CSV_HEAD_LINES = 200  # lines of a file searched for its header (title rows above it)


def _csv_header(
    spec: SourceColumns, records: list[tuple[int, str]], ctx: FileContext
) -> tuple[int, list[str], ColumnMap]:
    """The header record among the first records: its line, cells and column map."""
    head: list[tuple[int, list[str]]] = []
    for number, text in records:
        if not is_blank_line(text):
            head.append((number, parse_csv_record(text)))
            if len(head) >= HEADER_SCAN_ROWS:
                break
    index = find_header_row([cells for _, cells in head], spec)
    if index is None:
        delimiter = _other_delimiter([text for n, text in records[:HEADER_SCAN_ROWS]], spec)
        if delimiter:
            raise _delimiter_error(ctx.file_name, delimiter)
        raise _no_header_message(ctx, spec, None)
    header_row, header = head[index]
    return header_row, header, _checked_header(header, spec, ctx, None)


def _read_csv_sql(path: Path, width: int, table: str, with_row: bool) -> str:
    """DuckDB's reader, every field as text, rejected lines kept in csv_rejects."""
    cols = ({"__row": "INTEGER"} if with_row else {}) | {
        f"f{i + 1}": "VARCHAR" for i in range(width)
    }
    return (
        f"create temp table {table} as select * from read_csv($path, header = false, "
        "auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        "new_line = '\\n', all_varchar = false, columns = $cols, "
        "store_rejects = true, rejects_table = 'csv_rejects', "
        "rejects_scan = 'csv_rejects_scan')".replace("$cols", _struct_literal(cols)).replace(
            "$path", _sql_string(str(path))
        )
    )


def _drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """The view `stage` (what _finish_sheet reads) and the temp tables behind it."""
    con.execute("drop view if exists stage")
    for table in ("stage_lines", "stage_bulk", "bulk_lines", "csv_rejects", "csv_rejects_scan"):
        con.execute(f"drop table if exists {table}")


def _unparsed_rows(
    rows: Iterable[tuple[int, str]], width: int, reasons: dict[int, str]
) -> tuple[list[tuple[int, str, str]], list[tuple[int, list[object]]]]:
    """Lines DuckDB's reader did not take as a row: a totals row goes to the trailer,
    sign-off and blank lines are not data, the rest is quarantined with its reason."""
    quarantined: list[tuple[int, str, str]] = []
    trailer: list[tuple[int, list[object]]] = []
    for number, text in rows:
        cells = parse_csv_record(text)
        kind = row_kind(cells)
        if kind == "total":
            trailer.append((number, cells))
        if kind != "data":
            continue
        if len(cells) != width:
            reason = (
                f"该行有 {len(cells)} 个单元格，而表头有 {width} 列 / "
                f"wrong number of cells: {len(cells)}, the header has {width}"
            )
        elif number in reasons:
            reason = f"该行无法按 CSV 格式解析 / {reasons[number]}"
        else:
            reason = (
                "该行未能作为单独一行解析（引号不成对） / "
                "not parsed as a separate row (unbalanced quote)"
            )
        quarantined.append((number, reason, text))
    return quarantined, trailer


def _stage_csv_bulk(
    con: duckdb.DuckDBPyConnection, spec: SourceColumns, data: bytes, ctx: FileContext
) -> StagedCsv | None:
    """The common file, at DuckDB's speed: decoded whole (bytes to text in one call),
    the header found in its first lines, the body read by DuckDB in parallel. A line's
    number is its position, which holds only when each line after the header is one row
    or one rejected line: checked by counting; when it does not hold, None."""
    whole = decode_whole(data, ctx.file_name)
    if whole is None:
        return None
    ctx.encoding, text = whole
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    head = text.split("\n", CSV_HEAD_LINES)[:CSV_HEAD_LINES]
    records, unbalanced = frame_records(head)
    header_row, header, cmap = _csv_header(spec, records, ctx)
    header_lines = next(t for n, t in records if n == header_row).count("\n") + 1
    if (unbalanced and unbalanced[0][0] < header_row) or header_lines > 1:
        return None
    offset = sum(len(line) + 1 for line in head[:header_row])
    body = text[offset:]
    lines = body.count("\n") + (0 if body.endswith("\n") or not body else 1)
    width = len(header)
    with tempfile.TemporaryDirectory(prefix="eduaid_ingest_") as tmp:
        tmp_csv = Path(tmp) / "body.csv"
        tmp_csv.write_bytes(body.encode("utf-8"))
        del body
        _drop_stage(con)
        con.execute(_read_csv_sql(tmp_csv, width, "stage_bulk", with_row=False))
    rows = con.execute("select count(*) from stage_bulk").fetchone()[0]
    rejects = con.execute(
        "select line, any_value(csv_line), "
        "string_agg(distinct error_type || ': ' || error_message, '; ') "
        "from csv_rejects group by line order by line"
    ).fetchall()
    if rows + len(rejects) != lines or any(not 1 <= r[0] <= lines for r in rejects):
        _drop_stage(con)  # a blank line or a record over several lines: line by line
        return None
    # Row positions, not rowids (a transaction's new rows have provisional rowids): a table
    # scans in insertion order, and the body's lines are numbered in the same order.
    first = header_row + 1
    numbers = f"select cast(range as integer) as __row from range({first}, {first + rows})"
    if rejects:
        rejected = np.array([r[0] for r in rejects], dtype=np.int64)
        kept = np.setdiff1d(np.arange(1, lines + 1, dtype=np.int64), rejected) + header_row
        con.register("bulk_numbers", pa.table({"__row": pa.array(kept, pa.int32())}))
        con.execute("create temp table bulk_lines as select * from bulk_numbers")
        con.unregister("bulk_numbers")
        numbers = "select __row from bulk_lines"
    con.execute(
        "create temp view stage as select numbered.__row, stage_bulk.* "
        f"from stage_bulk positional join ({numbers}) as numbered"
    )
    reasons = {int(n) + header_row: reason for n, _, reason in rejects}
    quarantined, trailer = _unparsed_rows(
        ((int(n) + header_row, line) for n, line, _ in rejects), width, reasons
    )
    return header, header_row, cmap, quarantined, trailer


def _stage_csv_by_line(
    con: duckdb.DuckDBPyConnection, spec: SourceColumns, data: bytes, ctx: FileContext
) -> StagedCsv:
    """Any file that decodes at all: undecodable lines and quotes that never close are
    quarantined, records over several lines framed, each record numbered by its line."""
    decoded = decode_text(data, ctx.file_name)
    ctx.encoding = decoded.encoding
    records, unbalanced = frame_records(decoded.lines)
    header_row, header, cmap = _csv_header(spec, records, ctx)
    width = len(header)
    body = [(n, t) for n, t in records if n > header_row and not is_blank_line(t)]
    bad_lines = [(n, t) for n, t in decoded.undecodable.items() if n > header_row]
    undecodable = (
        f"该行有无法按 {decoded.encoding} 解码的字节 / undecodable bytes (not {decoded.encoding})"
    )
    quarantined = [(n, undecodable, t) for n, t in bad_lines]
    quarantined += [
        (
            n,
            "引号不成对：带引号的单元格没有结束 / unbalanced quote: the quoted cell never closes",
            t,
        )
        for n, t in unbalanced
        if n > header_row and not is_blank_line(t)
    ]
    with tempfile.TemporaryDirectory(prefix="eduaid_ingest_") as tmp:
        tmp_csv = Path(tmp) / "body.csv"
        # Each record is prefixed with its physical line number: DuckDB parses in bulk
        # and the number travels with the row (and with a rejected row's text).
        with open(tmp_csv, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("\n".join([f"{n},{t}" for n, t in body]))
            fh.write("\n")
        _drop_stage(con)
        con.execute(_read_csv_sql(tmp_csv, width, "stage_lines", with_row=True))
    con.execute("create temp view stage as select * from stage_lines")
    # Rows the reader rejected or lost (an unbalanced quote) are found by their numbers.
    staged = con.execute("select __row from stage").fetchnumpy()["__row"]
    written = np.fromiter((n for n, _ in body), dtype=np.int64, count=len(body))
    missing = np.setdiff1d(written, np.asarray(staged, dtype=np.int64), assume_unique=False)
    reasons = dict(
        con.execute(
            "select try_cast(split_part(csv_line, ',', 1) as integer), "
            "string_agg(distinct error_type || ': ' || error_message, '; ') "
            "from csv_rejects group by 1"
        ).fetchall()
    )
    positions = np.searchsorted(written, missing)
    more, trailer = _unparsed_rows((body[int(p)] for p in positions), width, reasons)
    return header, header_row, cmap, quarantined + more, trailer


OTHER_DELIMITERS = {";": "分号（;）", "\t": "制表符（Tab）", "|": "竖线（|）"}


def _other_delimiter(lines: list[str], spec: SourceColumns) -> str | None:
    """The delimiter, other than the comma, by which these first lines hold a header."""
    for delimiter in OTHER_DELIMITERS:
        if not any(delimiter in line for line in lines):
            continue
        rows = [next(csv.reader([line], delimiter=delimiter), []) for line in lines]
        if find_header_row(rows, spec) is not None:
            return delimiter
    return None


def _delimiter_error(file_name: str, delimiter: str) -> IngestError:
    return IngestError(
        f"{file_name}: the columns are separated by {delimiter!r}, not by commas: save it "
        "from Excel as CSV (comma delimited)",
        f"文件 {file_name} 的各列以{OTHER_DELIMITERS[delimiter]}分隔，而不是逗号："
        "请在 Excel 中另存为“CSV（逗号分隔）”后重新提交",
    )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _struct_literal(cols: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"


# --------------------------------------------------------------------------- Excel


def _load_workbook(
    con: duckdb.DuckDBPyConnection, spec: SourceColumns, path: Path, ctx: FileContext
) -> tuple[list[SheetOutcome], list[str]]:
    book = excel.read_workbook(path, ctx.file_name)
    warnings = [
        f"工作表“{name}”已跳过：{excel.SKIPPED_CN.get(why, why)} / sheet {name!r} skipped: {why}"
        for name, why in book.skipped
    ]
    headers = []
    for grid in book.sheets:
        index = find_header_row(grid.rows, spec)
        if index is None:
            if any(any(c not in (None, "") for c in row) for row in grid.rows):
                warnings.append(
                    f"工作表“{grid.name}”已跳过：前 {HEADER_SCAN_ROWS} 行中没有表头 / "
                    f"sheet {grid.name!r} skipped: no header row"
                )
            continue
        header = [excel.render_cell(c) for c in grid.rows[index]]
        _checked_header(header, spec, ctx, grid.name)  # every sheet before loading any
        headers.append((grid, index, header))
    if not headers:
        if not book.sheets:
            skipped = ", ".join(f"{n} ({why})" for n, why in book.skipped) or "none"
            skipped_cn = "、".join(
                f"{n}（{excel.SKIPPED_CN.get(why, why)}）" for n, why in book.skipped
            )
            raise IngestError(
                f"{ctx.file_name}: no data sheet (sheets: {skipped})",
                f"文件 {ctx.file_name} 中没有数据工作表（工作表：{skipped_cn or '无'}）",
            )
        raise _no_header_message(ctx, spec, [g.name for g in book.sheets])
    outcomes = []
    for grid, index, header in headers:
        body = grid.rows[index + 1 :]
        columns = excel.render_columns(body, len(header))
        # Trailing columns without a header and without data are not columns.
        keep = [j for j in range(len(header)) if header[j] is not None or any(columns[j])]
        cmap = map_header([header[j] for j in keep], spec)
        table = pa.table(
            {"__row": pa.array(range(index + 2, index + 2 + len(body)), pa.int32())}
            | {f"f{k + 1}": pa.array(columns[j], pa.string()) for k, j in enumerate(keep)}
        )
        labels = [(column_letter(j + 1), header[j]) for j in keep]
        con.register("stage", table)
        try:
            outcomes.append(
                _finish_sheet(con, spec, ctx, grid.name, cmap, labels, index + 1, [], [])
            )
        finally:
            con.unregister("stage")
    return outcomes, warnings


def column_letter(number: int) -> str:
    """1 -> A, 27 -> AA: an Excel column as Excel names it."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --------------------------------------------------------------------------- shared


def _no_header_message(
    ctx: FileContext, spec: SourceColumns, sheets: list[str] | None
) -> IngestError:
    where = f" in sheets {', '.join(sheets)}" if sheets else ""
    examples = "、".join(spec.spellings[c][0] for c in spec.columns[:6])
    enc = f" (decoded as {ctx.encoding})" if ctx.encoding else ""
    where_cn = f"（工作表：{'、'.join(sheets)}）" if sheets else ""
    enc_cn = f"（按 {ctx.encoding} 解码）" if ctx.encoding else ""
    return IngestError(
        f"{ctx.file_name}: no header row with {spec.source} column names (such as "
        f"{examples}) in the first rows{where}{enc}",
        f"文件 {ctx.file_name}{where_cn} 的前 {HEADER_SCAN_ROWS} 行中找不到"
        f"{SOURCE_NAMES_CN.get(spec.source, spec.source)}的表头（应有 {examples} 等列名）{enc_cn}",
    )


def _checked_header(
    header: Sequence[object], spec: SourceColumns, ctx: FileContext, sheet: str | None
) -> ColumnMap:
    cmap = map_header(header, spec)
    error = missing_columns_error(
        f"{ctx.file_name}" + (f" (sheet {sheet})" if sheet else ""), cmap, spec
    )
    if error:
        raise error
    return cmap


def _finish_sheet(
    con: duckdb.DuckDBPyConnection,
    spec: SourceColumns,
    ctx: FileContext,
    sheet: str | None,
    cmap: ColumnMap,
    columns: list[tuple[str, object]],
    header_row: int,
    quarantined: list[tuple[int, str, str]],
    trailer: list[tuple[int, list[object]]],
) -> SheetOutcome:
    """Drop blank, totals and sign-off rows of the staged sheet, quarantine the rows no
    export can hold, load the rest. `columns` is (label, header text) per staged field:
    the column's number in a CSV file, its letter in a workbook."""
    width = len(columns)
    fields = [f"f{i + 1}" for i in range(width)]
    filled = " + ".join(f"cast({f} is not null as integer)" for f in fields)
    first = f"concat_ws(chr(31), {', '.join(fields[:3])})"
    # Blank, totals and sign-off rows are sparse or name a total in their first cells;
    # these few candidates are fetched and Python decides (reading.row_kind).
    needles = " or ".join(f"contains({first}, '{n}')" for n in TRAILER_HINT_NEEDLES)
    candidates = con.execute(
        f"select __row, {', '.join(fields)} from stage where {filled} <= {max(3, width // 2)} "
        f"or (({needles}) and regexp_matches({first}, ?))",
        [TRAILER_HINT_PATTERN],
    ).fetchall()
    excluded = []
    for row in candidates:
        cells = list(row[1:])
        kind = row_kind(cells)
        if kind == "total":
            trailer.append((int(row[0]), cells))
        if kind != "data":
            excluded.append(int(row[0]))
    trailer.sort(key=lambda t: t[0])
    skip = set(excluded)
    where = SheetPlace(sheet, header_row, columns)
    notes = _duplicate_header_notes(spec, where)
    for number, reason, text in _overlong_rows(con, fields, where):
        if number not in skip:
            excluded.append(number)
            quarantined.append((number, reason, text))
    notes += _formula_notes(con, fields, where, skip)

    amount_col = AMOUNT_COLUMN.get(spec.source)
    amount_index = next((i for i, c in cmap.canonical.items() if c == amount_col), None)
    stated = stated_total([cells for _, cells in trailer], amount_index)

    select = [f'f{i + 1} as "{col}"' for i, col in cmap.canonical.items()]
    if cmap.extra:
        pairs = ", ".join(
            f"'{name.replace(chr(39), chr(39) * 2)}', f{i + 1}" for i, name in cmap.extra.items()
        )
        select.append(f"cast(json_object({pairs}) as varchar) as extra_columns")
    con.register("excluded_rows", pa.table({"__row": pa.array(excluded, pa.int32())}))
    inserted = con.execute(
        f"""insert into raw."{spec.source}" by name
        select {", ".join(select)},
            ? as _source, ? as _file_name, ? as _file_sha256, ? as _sheet_name,
            cast(__row as integer) as _row_number, ? as _snapshot_month,
            ? as _delivered_at, ? as _loaded_at
        from stage
        where __row not in (select __row from excluded_rows)""",
        [
            ctx.source,
            ctx.file_name,
            ctx.sha256,
            sheet,
            ctx.snapshot,
            ctx.delivered_at,
            ctx.loaded_at,
        ],
    ).fetchone()[0]
    con.unregister("excluded_rows")

    loaded_total = None
    if stated is not None:
        if stated.kind == "amount":
            # read by the same money rule as the stated total and dbt's staging
            money.register(con)
            loaded_total = con.execute(
                f"select coalesce(sum({money.FUNCTION}({amount_col})), 0) "
                f'from raw."{spec.source}" '
                "where _file_sha256 = ? and _sheet_name is not distinct from ?",
                [ctx.sha256, sheet],
            ).fetchone()[0]
        else:
            loaded_total = Decimal(inserted)
    _write_quarantine(con, ctx, sheet, quarantined)
    grand = [n for n, cells in trailer if is_grand_total(cells)]
    return SheetOutcome(
        sheet,
        cmap,
        inserted,
        len(quarantined),
        stated,
        loaded_total,
        total_rows=grand[-1:] or [n for n, _ in trailer],
        notes=notes,
    )


@dataclass(frozen=True)
class SheetPlace:
    """Where a sheet's cells are, for messages: its sheet, header row and column labels."""

    sheet: str | None
    header_row: int
    columns: list[tuple[str, object]]  # (number or letter, header text) per staged field

    def column_cn(self, index: int) -> str:
        label, text = self.columns[index]
        name = f"“{text}”" if text not in (None, "") else ""
        return (f"第{label}列" if label.isdigit() else f"{label}列") + name

    def column_en(self, index: int) -> str:
        label, text = self.columns[index]
        return f"column {label}" + (f" ({text})" if text not in (None, "") else "")

    def sheet_cn(self) -> str:
        return f"工作表“{self.sheet}”" if self.sheet else ""

    def sheet_en(self) -> str:
        return f"sheet {self.sheet}, " if self.sheet else ""


def _csv_text(cells: Sequence[object]) -> str:
    """Cells as one CSV line: the text a quarantined workbook row is kept as."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(["" if c is None else c for c in cells])
    return out.getvalue()


def _overlong_rows(
    con: duckdb.DuckDBPyConnection, fields: list[str], where: SheetPlace
) -> list[tuple[int, str, str]]:
    """(row, reason, text) of the rows with a cell longer than any export's cell."""
    if not fields:
        return []
    rows = con.execute(
        f"select __row, {', '.join(fields)} from stage where "
        + " or ".join(f"length({f}) > {MAX_CELL_CHARS}" for f in fields)
        + " order by __row"
    ).fetchall()
    found = []
    for row in rows:
        cells = list(row[1:])
        index = next(i for i, c in enumerate(cells) if c is not None and len(c) > MAX_CELL_CHARS)
        size = len(cells[index])
        found.append(
            (
                int(row[0]),
                f"{where.column_cn(index)}有 {size:,} 个字符，超过 Excel 单元格的上限 "
                f"{MAX_CELL_CHARS:,}：不是登记数据 / {where.column_en(index)} holds {size:,} "
                f"characters, more than an Excel cell can ({MAX_CELL_CHARS:,}): not registry data",
                _csv_text(cells),
            )
        )
    return found


def reads_as_formula(text: str | None) -> bool:
    """A cell a spreadsheet would evaluate: `=…`, `@…`, or `+`/`-` followed by something
    that is not a number (a refund `-625` or a phone number `+86 138…` is not a formula).
    Worth a warning at ingest; the auditors' workbook is stricter on purpose and
    quote-prefixes every text that merely starts like one (reports.workbook)."""
    if text is None or len(text) < 2 or not text.startswith(FORMULA_STARTS):
        return False
    if text[0] in "=@":
        return True
    return parse_amount(text) is None and any(
        c.isascii() and (c.isalnum() or c in "(=") for c in text[1:]
    )


def _formula_notes(
    con: duckdb.DuckDBPyConnection, fields: list[str], where: SheetPlace, skip: set[int]
) -> list[str]:
    """One warning for the cells that look like formulas: they are loaded as written (text;
    the findings workbook writes them as text too), but a person should know."""
    if not fields:
        return []
    # = and @ always; + and - unless the cell is a number (a refund) or the sign alone
    candidate = (
        "(prefix({f}, '=') or prefix({f}, '@') or ((prefix({f}, '+') or prefix({f}, '-')) "
        "and length({f}) > 1 and try_cast({f} as double) is null))"
    )
    rows = con.execute(
        f"select __row, {', '.join(fields)} from stage where "
        + " or ".join(candidate.format(f=f) for f in fields)
        + f" order by __row limit {FORMULA_SCAN_LIMIT}"
    ).fetchall()
    cells = [
        (int(row[0]), i, value)
        for row in rows
        if int(row[0]) not in skip
        for i, value in enumerate(row[1:])
        if reads_as_formula(value)
    ]
    if not cells:
        return []
    shown = cells[:FORMULA_EXAMPLES]
    more_cn = "等" if len(cells) > len(shown) else ""
    more_en = ", …" if len(cells) > len(shown) else ""
    examples_cn = "、".join(f"第{n}行{where.column_cn(i)} {_quoted_value(v)}" for n, i, v in shown)
    examples_en = ", ".join(
        f"row {n}, {where.column_en(i)}: {_quoted_value(v)}" for n, i, v in shown
    )
    return [
        f"{where.sheet_cn()}{len(cells)} 个单元格以 = + - @ 开头，像电子表格公式，已按原文作为文本"
        f"保存（{examples_cn}{more_cn}） / {where.sheet_en()}{len(cells)} cells start like a "
        f"spreadsheet formula and are kept as text, as written ({examples_en}{more_en})"
    ]


def _quoted_value(value: str, limit: int = 40) -> str:
    shown = value if len(value) <= limit else value[:limit] + "…"
    return '"' + shown.replace("\n", " ") + '"'


def _duplicate_header_notes(spec: SourceColumns, where: SheetPlace) -> list[str]:
    """A warning per header cell that repeats an earlier one: the same column twice
    (`身份证号` and `身份证号码`) loads the first; the same text twice keeps both apart."""
    first: dict[str, int] = {}
    notes = []
    for index, (_, text) in enumerate(where.columns):
        canonical = spec.canonical(text)
        key = f"column:{canonical}" if canonical else f"text:{normalise_header(text)}"
        if key == "text:":
            continue
        if key not in first:
            first[key] = index
            continue
        before = first[key]
        at_cn = f"{where.sheet_cn()}第{where.header_row}行表头中{where.column_cn(before)}和"
        at_cn += where.column_cn(index)
        at_en = (
            f"{where.sheet_en()}header row {where.header_row}: {where.column_en(before)} and "
            f"{where.column_en(index)}"
        )
        if canonical:
            notes.append(
                f"{at_cn}重复（都是 {canonical} 列）：入库使用{where.column_cn(before)}，"
                f"另一列的值保存在 extra_columns / {at_en} are both the {canonical} column: "
                "the first is loaded, the other is kept in extra_columns"
            )
        else:
            notes.append(
                f"{at_cn}的列名相同：两列都保存在 extra_columns，后一列的名称加上列号 / "
                f"{at_en} have the same name: both are kept in extra_columns, the second "
                "under its name and column number"
            )
    return notes


def _write_quarantine(
    con: duckdb.DuckDBPyConnection,
    ctx: FileContext,
    sheet: str | None,
    rows: Iterable[tuple[int, str, str]],
) -> None:
    rows = list(rows)
    if not rows:
        return
    table = pa.table(
        {
            "row_number": pa.array([r[0] for r in rows], pa.int32()),
            "reason": pa.array([r[1] for r in rows], pa.string()),
            "raw_text": pa.array([r[2] for r in rows], pa.string()),
        }
    )
    con.register("quarantine_rows", table)
    try:
        con.execute(
            "insert into raw.quarantine select ?, ?, ?, ?, row_number, reason, raw_text, ? "
            "from quarantine_rows order by row_number",
            [ctx.source, ctx.file_name, ctx.sha256, sheet, ctx.loaded_at],
        )
    finally:
        con.unregister("quarantine_rows")
