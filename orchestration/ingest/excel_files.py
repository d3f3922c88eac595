"""An .xlsx/.xls workbook: each data sheet into the staging relation of its sheet."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.ingest import excel
from orchestration.ingest.reading import (
    HEADER_SCAN_ROWS,
    IngestError,
    SourceColumns,
    find_header_row,
    map_header,
)
from orchestration.ingest.sheet import (
    FileContext,
    SheetOutcome,
    checked_header,
    finish_sheet,
    no_header_message,
)


def load_workbook(
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
        checked_header(header, spec, ctx, grid.name)  # every sheet before loading any
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
        raise no_header_message(ctx, spec, [g.name for g in book.sheets])
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
                finish_sheet(con, spec, ctx, grid.name, cmap, labels, index + 1, [], [])
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
