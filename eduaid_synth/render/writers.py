"""Writers: CSV (column-wise, in chunks, by the C csv writer), .xlsx and .xls."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np

from .cells import Renderer, rows_containing
from .layout import Sheet, merge_runs
from .spec import (
    CSV_CHUNK_ROWS,
    FIXED_CREATED,
    MERGE_COLUMNS,
    XLS_MAX_ROWS,
    XLSX_MAX_ROWS,
    RenderError,
)


def write_csv(path: Path, r: Renderer, order, values, header, sheet: Sheet) -> None:
    enc = r.req.encoding.lower().replace("_", "-")
    if enc in ("gbk", "gb2312", "gb18030"):
        codec, bom = "gb18030", b""
        r.count("gbk")
    elif enc == "utf-8-sig":
        codec, bom = "utf-8", b"\xef\xbb\xbf"
        r.count("utf8_bom")
    elif enc in ("utf-8", "utf8"):
        codec, bom = "utf-8", b""
        r.count("utf8")
    else:
        raise RenderError(f"{r.req.file_stem}: unsupported CSV encoding {r.req.encoding!r}")
    eol = "\r\n" if r.rng.random() < 0.6 else "\n"
    if eol == "\r\n":
        r.count("crlf")
    n_phys = sheet.footer_start - sheet.header_row - 1
    slots = sheet.data_rows - sheet.header_row - 1
    cols = []
    for key in order:
        full = np.full(n_phys, "", dtype=object)
        full[slots] = values[key][sheet.rows]
        cols.append(_csv_quoted(full))

    def small(rows) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator=eol).writerows(rows)
        return buf.getvalue().encode(codec)

    with open(path, "wb") as fh:
        fh.write(bom + small([*sheet.top, header]))
        for start in range(0, n_phys, CSV_CHUNK_ROWS):
            part = [c[start : start + CSV_CHUNK_ROWS].tolist() for c in cols]
            text = eol.join(map(",".join, zip(*part, strict=True))) + eol
            fh.write(text.encode(codec))
        fh.write(small(sheet.footer))


def _csv_quoted(col: np.ndarray) -> np.ndarray:
    """Quote the cells that need it (a money 1,250.00), as the csv module would."""
    flagged = rows_containing(col, ',"\r\n')
    if not flagged.any():
        return col
    out = col.copy()
    out[flagged] = ['"' + v.replace('"', '""') + '"' for v in col[flagged]]
    return out


def _excel_data(r, order, values, sheet: Sheet, merge: bool):
    """Per-column cells of a sheet, and the vertical merge ranges (row0, row1, col)."""
    cols = [values[k][sheet.rows] for k in order]
    merges = []
    if merge:
        for j, key in enumerate(order):
            if key not in MERGE_COLUMNS:
                continue
            col = cols[j].copy()
            for a, b in merge_runs(cols[j], sheet.data_rows):
                col[a + 1 : b + 1] = ""
                merges.append((int(sheet.data_rows[a]), int(sheet.data_rows[b]), j, cols[j][a]))
            cols[j] = col
    return cols, merges


def _instructions() -> list[str]:
    return [
        "说明",
        "1. 本表由系统导出，请勿修改表头。",
        "2. 身份证号码请以文本格式录入，勿转换为数字。",
        "3. 日期格式：YYYY-MM-DD；金额单位：元。",
    ]


def _stale_rows(r, order, values) -> list[list]:
    k = min(r.n, int(r.rng.integers(5, 30)))
    idx = np.sort(r.rng.choice(r.n, k, replace=False)) if k else np.arange(0)
    return [[values[c][i] for c in order] for i in idx]


def sheet_plan(r: Renderer, sheets: list[Sheet]) -> list[tuple[str, object]]:
    """Workbook order: (kind, payload) with kind data | hidden | instructions."""
    plan: list[tuple[str, object]] = [("data", s) for s in sheets]
    if r.req.hidden_sheet:
        plan.insert(min(1, len(plan)), ("hidden", None))
        r.count("hidden_sheet")
    if r.req.instructions_sheet:
        if r.rng.random() < 0.3:
            plan.insert(0, ("instructions", None))
        else:
            plan.append(("instructions", None))
        r.count("instructions_sheet")
    return plan


def _extra_sheet_names(r: Renderer, taken: set[str]) -> tuple[str, str]:
    hidden = ("旧数据", "Sheet2", "历史数据", "备份")[int(r.rng.integers(4))]
    while hidden.lower() in taken:
        hidden += "_"
    instr = ("填表说明", "说明")[int(r.rng.integers(2))]
    while instr.lower() in taken:
        instr = "填表" + instr
    return hidden, instr


def check_rows(r: Renderer, sheets: list[Sheet]) -> None:
    limit = XLS_MAX_ROWS if r.req.fmt == "xls" else XLSX_MAX_ROWS
    for s in sheets:
        rows = s.footer_start + len(s.footer)
        if rows > limit:
            raise RenderError(
                f"{r.req.file_stem}.{r.req.fmt}: sheet {s.name!r} needs {rows} rows, more "
                f"than the {limit} a .{r.req.fmt} sheet holds; split it (sheet_by) or use "
                "another format"
            )


def write_xlsx(path, r, order, values, header, sheets, plan) -> None:
    import xlsxwriter

    merge = r.req.merge_cells
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": not merge,  # merges are written after the rows
            "default_date_format": "yyyy-mm-dd",
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": FIXED_CREATED, "author": "", "comments": ""})
    taken = {s.name.lower() for s in sheets}
    hidden_name, instr_name = _extra_sheet_names(r, taken)
    width = len(order)
    for kind, s in plan:
        if kind == "instructions":
            ws = wb.add_worksheet(instr_name)
            for i, line in enumerate(_instructions()):
                ws.write_string(i, 0, line)
            continue
        if kind == "hidden":
            ws = wb.add_worksheet(hidden_name)
            ws.write_row(0, 0, header)
            for i, row in enumerate(_stale_rows(r, order, values), 1):
                ws.write_row(i, 0, row)
            ws.hide()
            continue
        ws = wb.add_worksheet(s.name)
        for i, row in enumerate(s.top):
            if i == s.title_merge:
                ws.merge_range(i, 0, i, width - 1, row[0])
            elif row:
                ws.write_row(i, 0, row)
        ws.write_row(s.header_row, 0, header)
        cols, merges = _excel_data(r, order, values, s, merge)
        write_row = ws.write_row
        for phys, row in zip(s.data_rows.tolist(), zip(*cols, strict=True), strict=True):
            write_row(phys, 0, row)
        for i, row in enumerate(s.footer):
            write_row(s.footer_start + i, 0, row)
        for r0, r1, c, v in merges:
            ws.merge_range(r0, c, r1, c, v)
        r.count("merged_cells", len(merges))
    wb.close()


def write_xls(path, r, order, values, header, sheets, plan) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    taken = {s.name.lower() for s in sheets}
    hidden_name, instr_name = _extra_sheet_names(r, taken)
    width = len(order)

    def put(ws, i, row):
        for j, v in enumerate(row):
            if v is None or v == "":
                continue
            if v.__class__ is dt.date:
                ws.write(i, j, v, date_style)
            else:
                ws.write(i, j, v)

    for kind, s in plan:
        if kind == "instructions":
            ws = wb.add_sheet(instr_name)
            for i, line in enumerate(_instructions()):
                ws.write(i, 0, line)
            continue
        if kind == "hidden":
            ws = wb.add_sheet(hidden_name)
            put(ws, 0, header)
            for i, row in enumerate(_stale_rows(r, order, values), 1):
                put(ws, i, row)
            ws.visibility = 1
            continue
        ws = wb.add_sheet(s.name)
        for i, row in enumerate(s.top):
            if i == s.title_merge:
                ws.write_merge(i, i, 0, width - 1, row[0])
            else:
                put(ws, i, row)
        put(ws, s.header_row, header)
        cols, merges = _excel_data(r, order, values, s, r.req.merge_cells)
        for phys, row in zip(s.data_rows.tolist(), zip(*cols, strict=True), strict=True):
            put(ws, phys, row)
        for i, row in enumerate(s.footer):
            put(ws, s.footer_start + i, row)
        for r0, r1, c, _v in merges:
            ws.merge(r0, r1, c, c)
        r.count("merged_cells", len(merges))
    wb.save(str(path))
