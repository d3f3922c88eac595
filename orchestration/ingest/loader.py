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

import hashlib
import json
import logging
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

from orchestration.ingest import excel
from orchestration.ingest.reading import (
    AMOUNT_COLUMN,
    EXTENSIONS,
    SNAPSHOT_SOURCES,
    SOURCES,
    TRAILER_HINT_PATTERN,
    ColumnMap,
    IngestError,
    SourceColumns,
    StatedTotal,
    decode_text,
    find_header_row,
    frame_records,
    is_blank_line,
    load_alias_table,
    map_header,
    missing_columns_error,
    parse_csv_record,
    row_kind,
    snapshot_month,
    stated_total,
)

log = logging.getLogger(__name__)

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

# The newest delivery per snapshot month is the one used downstream (ties: file name);
# every disbursement file is its own batch.
CURRENT_FILES_VIEW = """
create or replace view raw.current_files as
select *
from raw.load_manifest
where status = 'loaded'
qualify row_number() over (
    partition by source, coalesce(cast(snapshot_month as varchar), file_sha256)
    order by delivered_at desc, file_name desc
) = 1"""

_SQL_AMOUNT = (
    "try_cast(regexp_replace(translate({col}, '０１２３４５６７８９．－，＋', '0123456789.-,+'), "
    "'[,￥¥元\\s\\x{{3000}}]|人民币|RMB', '', 'g') as decimal(18, 2))"
)


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
        if any(part.startswith((".", "~$")) for part in rel.parts) or not path.is_file():
            continue
        found.append((path.stat().st_mtime, rel.as_posix(), path))
    return [(name, path) for _, name, path in sorted(found)]


def load_source(
    con: duckdb.DuckDBPyConnection, spec: SourceColumns, landing: Path, loaded_at: datetime
) -> list[FileResult]:
    results = []
    for name, path in landing_files(landing, spec.source):
        started = time.perf_counter()
        result = load_file(con, spec, path, name, loaded_at)
        result.seconds = round(time.perf_counter() - started, 3)
        results.append(result)
    return results


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
    con.execute(CURRENT_FILES_VIEW)


# --------------------------------------------------------------------------- one file


@dataclass
class FileContext:
    source: str
    file_name: str
    sha256: str
    size: int
    delivered_at: datetime
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


def load_file(
    con: duckdb.DuckDBPyConnection,
    spec: SourceColumns,
    path: Path,
    file_name: str,
    loaded_at: datetime,
) -> FileResult:
    data = path.read_bytes()
    stat = path.stat()
    ctx = FileContext(
        source=spec.source,
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        delivered_at=datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0),
        loaded_at=loaded_at,
    )
    record_sighting(con, ctx)
    status = con.execute(
        "select status from raw.load_manifest where file_sha256 = ?", [ctx.sha256]
    ).fetchone()
    if status and status[0] == "loaded":
        return FileResult(spec.source, file_name, ctx.sha256, "already_loaded")
    con.begin()
    try:
        if status:  # rejected before: try again (the alias table may have been fixed)
            con.execute("delete from raw.load_manifest where file_sha256 = ?", [ctx.sha256])
        result = _load_file_content(con, spec, path, data, ctx)
        con.commit()
        return result
    except Exception as exc:
        con.rollback()
        message = str(exc) if isinstance(exc, IngestError) else f"{file_name}: {exc!r}"
        if not isinstance(exc, IngestError):
            log.exception("unexpected error loading %s/%s", spec.source, file_name)
        # the rollback restored the row of an earlier rejection of the same content
        con.execute("delete from raw.load_manifest where file_sha256 = ?", [ctx.sha256])
        _write_manifest(con, ctx, status="rejected", error=message)
        return FileResult(
            spec.source, file_name, ctx.sha256, "rejected", error=message,
            file_format=ctx.file_format,
        )  # fmt: skip


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
) -> FileResult:
    ext = path.suffix.lower()
    if ext not in EXTENSIONS:
        raise IngestError(
            f"{ctx.file_name}: unknown file type {ext or '(no extension)'!r}; "
            f"expected one of {', '.join(EXTENSIONS)}"
        )
    ctx.file_format = ext.lstrip(".")
    if spec.source in SNAPSHOT_SOURCES:
        try:
            ctx.snapshot = snapshot_month(ctx.file_name)
        except ValueError as exc:
            raise IngestError(f"{ctx.file_name}: bad snapshot month in the name: {exc}") from exc
        if ctx.snapshot is None:
            raise IngestError(
                f"{ctx.file_name}: no snapshot month (YYYYMM, YYYY-MM or YYYY年M月) "
                f"in the file name of a {spec.source} export"
            )
    if not data:
        raise IngestError(f"{ctx.file_name}: empty file (0 bytes)")
    if ext == ".csv":
        outcomes, warnings = _load_csv(con, spec, data, ctx)
    else:
        outcomes, warnings = _load_workbook(con, spec, path, ctx)
    for outcome in outcomes:  # headers close to a known spelling: likely typos
        warnings.extend(outcome.cmap.suggestion_notes())
    rows_loaded = sum(o.rows_loaded for o in outcomes)
    rows_quarantined = sum(o.rows_quarantined for o in outcomes)
    if rows_loaded + rows_quarantined == 0:
        raise IngestError(f"{ctx.file_name}: no data rows below the header")
    stated = [o for o in outcomes if o.stated is not None]
    kinds = {o.stated.kind for o in stated}
    stated_value = loaded_value = kind = reconciled = None
    if len(kinds) == 1:
        kind = kinds.pop()
        stated_value = sum((o.stated.value for o in stated), Decimal(0))
        loaded_value = sum((o.loaded_total or Decimal(0) for o in stated), Decimal(0))
        reconciled = stated_value == loaded_value
        if not reconciled:
            warnings.append(f"loaded {kind} {loaded_value} differs from stated {stated_value}")
    if rows_quarantined:
        warnings.append(f"{rows_quarantined} rows quarantined")
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
    decoded = decode_text(data, ctx.file_name)
    ctx.encoding = decoded.encoding
    records, unbalanced = frame_records(decoded.lines)
    head: list[tuple[int, list[str]]] = []
    for number, text in records:
        if not is_blank_line(text):
            head.append((number, parse_csv_record(text)))
            if len(head) >= 30:
                break
    index = find_header_row([cells for _, cells in head], spec)
    if index is None:
        raise IngestError(_no_header_message(ctx, spec, None))
    header_row, header = head[index]
    cmap = _checked_header(header, spec, ctx, None)
    width = len(header)
    body = [(n, t) for n, t in records if n > header_row and not is_blank_line(t)]
    bad_lines = [(n, t) for n, t in decoded.undecodable.items() if n > header_row]
    quarantined = [(n, f"undecodable bytes (not {decoded.encoding})", t) for n, t in bad_lines]
    quarantined += [
        (n, "unbalanced quote: the quoted cell never closes", t)
        for n, t in unbalanced
        if n > header_row and not is_blank_line(t)
    ]

    cols = {"__row": "INTEGER"} | {f"f{i + 1}": "VARCHAR" for i in range(width)}
    with tempfile.TemporaryDirectory(prefix="eduaid_ingest_") as tmp:
        tmp_csv = Path(tmp) / "body.csv"
        # Each record is prefixed with its physical line number: DuckDB parses in bulk
        # and the number travels with the row (and with a rejected row's text).
        with open(tmp_csv, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("\n".join([f"{n},{t}" for n, t in body]))
            fh.write("\n")
        con.execute("drop table if exists csv_rejects")
        con.execute("drop table if exists csv_rejects_scan")
        con.execute("drop table if exists stage")
        con.execute(
            "create temp table stage as select * from read_csv($path, header = false, "
            "auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            "new_line = '\\n', all_varchar = false, columns = $cols, "
            "store_rejects = true, rejects_table = 'csv_rejects', "
            "rejects_scan = 'csv_rejects_scan')".replace("$cols", _struct_literal(cols)).replace(
                "$path", _sql_string(str(tmp_csv))
            )
        )
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
    trailer: list[list[object]] = []
    if len(missing):
        positions = np.searchsorted(written, missing)
        for pos in positions:
            number, text = body[int(pos)]
            cells = parse_csv_record(text)
            kind = row_kind(cells)
            if kind in ("total", "signoff"):
                if kind == "total":
                    trailer.append(cells)
                continue
            if kind == "blank":
                continue
            if len(cells) != width:
                reason = f"wrong number of cells: {len(cells)}, the header has {width}"
            else:
                reason = reasons.get(number) or "not parsed as a separate row (unbalanced quote)"
            quarantined.append((number, reason, text))
    outcome = _finish_sheet(con, spec, ctx, None, cmap, width, quarantined, trailer)
    con.execute("drop table stage")
    return [outcome], []


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _struct_literal(cols: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"


# --------------------------------------------------------------------------- Excel


def _load_workbook(
    con: duckdb.DuckDBPyConnection, spec: SourceColumns, path: Path, ctx: FileContext
) -> tuple[list[SheetOutcome], list[str]]:
    book = excel.read_workbook(path, ctx.file_name)
    warnings = [f"sheet {name!r} skipped: {why}" for name, why in book.skipped]
    headers = []
    for grid in book.sheets:
        index = find_header_row(grid.rows, spec)
        if index is None:
            if any(any(c not in (None, "") for c in row) for row in grid.rows):
                warnings.append(f"sheet {grid.name!r} skipped: no header row")
            continue
        header = [excel.render_cell(c) for c in grid.rows[index]]
        _checked_header(header, spec, ctx, grid.name)  # every sheet before loading any
        headers.append((grid, index, header))
    if not headers:
        if not book.sheets:
            skipped = ", ".join(f"{n} ({why})" for n, why in book.skipped) or "none"
            raise IngestError(f"{ctx.file_name}: no data sheet (sheets: {skipped})")
        raise IngestError(_no_header_message(ctx, spec, [g.name for g in book.sheets]))
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
        con.register("stage", table)
        try:
            outcomes.append(_finish_sheet(con, spec, ctx, grid.name, cmap, len(keep), [], []))
        finally:
            con.unregister("stage")
    return outcomes, warnings


# --------------------------------------------------------------------------- shared


def _no_header_message(ctx: FileContext, spec: SourceColumns, sheets: list[str] | None) -> str:
    where = f" in sheets {', '.join(sheets)}" if sheets else ""
    examples = "、".join(spec.spellings[c][0] for c in spec.columns[:6])
    enc = f" (decoded as {ctx.encoding})" if ctx.encoding else ""
    return (
        f"{ctx.file_name}: no header row with {spec.source} column names (such as "
        f"{examples}) in the first rows{where}{enc}"
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
    width: int,
    quarantined: list[tuple[int, str, str]],
    trailer: list[list[object]],
) -> SheetOutcome:
    """Drop blank, totals and sign-off rows of the staged sheet, load the rest."""
    fields = [f"f{i + 1}" for i in range(width)]
    filled = " + ".join(f"cast({f} is not null as integer)" for f in fields)
    first = f"concat_ws(chr(31), {', '.join(fields[:3])})"
    # Blank, totals and sign-off rows are sparse or name a total in their first cells;
    # these few candidates are fetched and Python decides (reading.row_kind).
    candidates = con.execute(
        f"select __row, {', '.join(fields)} from stage "
        f"where {filled} <= {max(3, width // 2)} or regexp_matches({first}, ?)",
        [TRAILER_HINT_PATTERN],
    ).fetchall()
    excluded = []
    for row in candidates:
        cells = list(row[1:])
        kind = row_kind(cells)
        if kind == "total":
            trailer.append(cells)
        if kind != "data":
            excluded.append(int(row[0]))

    amount_col = AMOUNT_COLUMN.get(spec.source)
    amount_index = next((i for i, c in cmap.canonical.items() if c == amount_col), None)
    stated = stated_total(trailer, amount_index)

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
            loaded_total = con.execute(
                f"select coalesce(sum({_SQL_AMOUNT.format(col=amount_col)}), 0) "
                f'from raw."{spec.source}" '
                "where _file_sha256 = ? and _sheet_name is not distinct from ?",
                [ctx.sha256, sheet],
            ).fetchone()[0]
        else:
            loaded_total = Decimal(inserted)
    _write_quarantine(con, ctx, sheet, quarantined)
    return SheetOutcome(sheet, cmap, inserted, len(quarantined), stated, loaded_total)


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
