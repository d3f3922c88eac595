"""Excel workbooks (.xlsx and old .xls) through python-calamine.

Only visible worksheets that are not instructions are data; merged cells are filled
across their range; cells are rendered to text as docs/architecture.md fixes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from orchestration.ingest.reading import IngestError, normalise_header

_INSTRUCTION_MARKERS = ("说明", "须知", "帮助", "readme", "instruction")
# why a sheet is not data (Workbook.skipped), in Chinese
SKIPPED_CN = {
    "not a worksheet": "不是工作表",
    "hidden": "隐藏的工作表",
    "instructions": "说明页，不是数据",
    "empty": "空工作表",
}


def is_instruction_sheet(name: str) -> bool:
    """`说明`, `填表说明`, `填报须知`, `README` … are not data."""
    folded = normalise_header(name).lower()
    return any(marker in folded for marker in _INSTRUCTION_MARKERS)


@dataclass
class SheetGrid:
    name: str
    rows: list[list[object]]  # rows[i] is Excel row i + 1, column j is column j + 1


@dataclass
class Workbook:
    sheets: list[SheetGrid]  # candidate data sheets, in workbook order
    skipped: list[tuple[str, str]]  # (sheet name, why it is not data)


def unreadable(path: Path, file_name: str, exc: Exception) -> IngestError:
    """Why a file named .xlsx/.xls is not a workbook, in words a county clerk can act on:
    a web page (HTML, what many systems export as .xls), text (a CSV renamed), or else
    a damaged or foreign file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        head = b""
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\xfe\xff \t\r\n").replace(b"\x00", b"").lower()
    if text.startswith(b"<") and any(tag in text for tag in (b"<html", b"<table", b"<!doctype")):
        return IngestError(
            f"{file_name}: not a readable Excel workbook: an HTML page (web page) named "
            f"{Path(file_name).suffix}; open it in Excel and save it as .xlsx",
            f"文件 {file_name} 不是 Excel 工作簿，而是以 {Path(file_name).suffix} 命名的网页"
            "（HTML）文件：请用 Excel 打开后另存为 .xlsx 再重新提交",
        )
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
            is_text = True
        except UnicodeDecodeError:
            is_text = False
        if is_text or _gbk_text(head):
            return IngestError(
                f"{file_name}: not a readable Excel workbook: plain text (a CSV file?) named "
                f"{Path(file_name).suffix}",
                f"文件 {file_name} 不是 Excel 工作簿，而是以 {Path(file_name).suffix} 命名的"
                "文本文件（可能是 CSV）：请改用 .csv 扩展名，或在 Excel 中另存为 .xlsx",
            )
    return IngestError(
        f"{file_name}: not a readable Excel workbook ({exc})",
        f"文件 {file_name} 无法作为 Excel 工作簿读取：文件已损坏，或并非 Excel 文件",
    )


def _gbk_text(head: bytes) -> bool:
    try:
        head[:-1].decode("gb18030")  # the last byte may be half a character
    except UnicodeDecodeError:
        return False
    controls = sum(head.count(bytes([b])) for b in range(32) if b not in (9, 10, 13))
    return controls == 0


def read_workbook(path: Path, file_name: str) -> Workbook:
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types per format
        raise unreadable(path, file_name, exc) from exc
    sheets: list[SheetGrid] = []
    skipped: list[tuple[str, str]] = []
    try:
        for meta in book.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                skipped.append((meta.name, "not a worksheet"))
            elif meta.visible != SheetVisibleEnum.Visible:
                skipped.append((meta.name, "hidden"))
            elif is_instruction_sheet(meta.name):
                skipped.append((meta.name, "instructions"))
            else:
                sheet = book.get_sheet_by_name(meta.name)
                # skip_empty_area=False keeps row 0 = Excel row 1, so row numbers hold.
                rows = sheet.to_python(skip_empty_area=False)
                if not rows:
                    skipped.append((meta.name, "empty"))
                    continue
                fill_merged(rows, sheet.merged_cell_ranges or ())
                sheets.append(SheetGrid(meta.name, rows))
    except IngestError:
        raise
    except Exception as exc:
        raise unreadable(path, file_name, exc) from exc
    finally:
        book.close()
    return Workbook(sheets, skipped)


def fill_merged(rows: list[list[object]], ranges) -> None:
    """Give every cell of a merged range the value of its top-left cell."""
    for (r0, c0), (r1, c1) in ranges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                row[c] = value


def excel_general(number: float) -> str:
    """A number as Excel's General format shows it when too wide: `4.20399E+17`."""
    mantissa, exponent = f"{number:.5E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    sign, digits = exponent[0], exponent[1:].lstrip("0").rjust(2, "0")
    return f"{mantissa}E{sign}{digits}"


def render_cell(value: object) -> str | None:
    """Cell value as the text a person sees; None for an empty cell."""
    cls = value.__class__
    if cls is str:
        return value or None
    if cls is float or cls is int:
        if abs(value) >= 1e11:  # 12+ integer digits: Excel shows (and CSV-saves) 4.20399E+17
            return excel_general(float(value))
        if cls is int or value.is_integer():
            return str(int(value))
        return repr(value)
    if value is None:
        return None
    if cls is bool:
        return "TRUE" if value else "FALSE"
    if cls is dt.datetime:
        if value.time() == dt.time(0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if cls is dt.date:
        return value.isoformat()
    if cls is dt.time:
        return value.strftime("%H:%M:%S")
    return str(value)


def render_columns(rows: list[list[object]], width: int) -> list[list[str | None]]:
    """Column-wise text of rows (cells beyond a short row are None)."""
    padded = (row if len(row) >= width else [*row, *([None] * (width - len(row)))] for row in rows)
    columns = zip(*padded, strict=False) if rows else [() for _ in range(width)]
    out = []
    for j, col in enumerate(columns):
        if j >= width:
            break
        out.append([(v or None) if v.__class__ is str else render_cell(v) for v in col])
    return out
