"""A CSV file into the staging relation of its sheet: read by DuckDB in bulk (decoded whole,
rows numbered by position, checked by count) or, where that does not hold, line by line."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.ingest.reading import (
    HEADER_SCAN_ROWS,
    ColumnMap,
    IngestError,
    SourceColumns,
    decode_text,
    decode_whole,
    find_header_row,
    frame_records,
    is_blank_line,
    parse_csv_record,
    row_kind,
)
from orchestration.ingest.sheet import (
    FileContext,
    SheetOutcome,
    checked_header,
    finish_sheet,
    no_header_message,
    sql_string,
    struct_literal,
)


def load_csv(
    con: duckdb.DuckDBPyConnection, spec: SourceColumns, data: bytes, ctx: FileContext
) -> tuple[list[SheetOutcome], list[str]]:
    """A CSV file: DuckDB reads the body in bulk (`_stage_csv_bulk`) when the file
    decodes whole and every line after the header is one record; otherwise, line by line
    (`_stage_csv_by_line`: damaged bytes, quotes spanning lines, blank lines)."""
    staged = _stage_csv_bulk(con, spec, data, ctx) if BULK_CSV else None
    if staged is None:
        staged = _stage_csv_by_line(con, spec, data, ctx)
    header, header_row, cmap, quarantined, trailer = staged
    outcome = finish_sheet(
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
        raise no_header_message(ctx, spec, None)
    header_row, header = head[index]
    return header_row, header, checked_header(header, spec, ctx, None)


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
        "rejects_scan = 'csv_rejects_scan')".replace("$cols", struct_literal(cols)).replace(
            "$path", sql_string(str(path))
        )
    )


def _drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """The view `stage` (what finish_sheet reads) and the temp tables behind it."""
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
        # rows are numbered by position below: the table must keep the file's order even
        # where a process's other connection turned it off (dbt's profile does, for memory;
        # the setting is the database instance's, shared by every connection of the process)
        con.execute("set preserve_insertion_order = true")
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
