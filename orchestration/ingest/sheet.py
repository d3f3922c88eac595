"""One sheet (a CSV file is one sheet) from its rows to raw: the header checked, the rows
inserted with their lineage or quarantined with a reason, the totals reconciled, and the
warnings a person should read (formula-looking cells, overlong cells, repeated headers)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa

from orchestration import money
from orchestration.ingest.reading import (
    AMOUNT_COLUMN,
    HEADER_SCAN_ROWS,
    TRAILER_HINT_NEEDLES,
    TRAILER_HINT_PATTERN,
    ColumnMap,
    IngestError,
    SourceColumns,
    StatedTotal,
    is_grand_total,
    map_header,
    missing_columns_error,
    normalise_header,
    parse_amount,
    row_kind,
    stated_total,
)
from orchestration.ingest.schema import SOURCE_NAMES_CN

# No export holds a longer cell: Excel's limit. A longer one is not registry data (and no
# workbook could show it): its row is quarantined.
MAX_CELL_CHARS = 32767


# Cells that a spreadsheet would take for a formula; kept as written, with a warning.
FORMULA_STARTS = ("=", "+", "-", "@")


FORMULA_SCAN_LIMIT = 10_000  # candidate rows fetched per sheet (refunds start with "-")


FORMULA_EXAMPLES = 3


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


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def struct_literal(cols: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"


def no_header_message(
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


def checked_header(
    header: Sequence[object], spec: SourceColumns, ctx: FileContext, sheet: str | None
) -> ColumnMap:
    cmap = map_header(header, spec)
    error = missing_columns_error(
        f"{ctx.file_name}" + (f" (sheet {sheet})" if sheet else ""), cmap, spec
    )
    if error:
        raise error
    return cmap


def finish_sheet(
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
    write_quarantine(con, ctx, sheet, quarantined)
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


def write_quarantine(
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
