"""The auditors' findings workbook: `audit.duckdb` as an .xlsx that a person reads.

Sheet `汇总` first (one row per finding type of the seed `finding_types.csv`, in its
severity order, types without findings included), then one sheet per finding type with
every finding, real ID number and name included: the file is as restricted as audit.duckdb.

What a reader sees is Chinese. ID numbers are text (18 digits do not survive as a number),
and no cell is ever a formula: every string is written as a text cell, and one that Excel or
another spreadsheet would take for a formula (`looks_like_formula`: `=HYPERLINK(…)`, `+1+1`,
`@SUM(A1)`) also carries the quote prefix, the cell style that Excel gives `'=…` typed in:
shown and kept as the text it is, unchanged, even when someone edits the cell. Names and
evidence come from registries that anyone fills in.
The file is written beside the target under a temporary name and then `os.replace`d, so that
a reader sees the previous workbook or the new one, never half of one.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import xlsxwriter

from orchestration.seeds import read_seed

SUMMARY_SHEET = "汇总"
SEVERITY_CN = {"critical": "严重", "high": "高", "medium": "中", "low": "低"}
SEASON_CN = {"spring": "春季", "autumn": "秋季"}
TERM_CODE = re.compile(r"(\d{4})-(spring|autumn)")
WORKBOOK = "audit_findings.xlsx"  # its name in <warehouse>/reports/
# OWASP's CSV-injection triggers: a cell starting with one of these may be evaluated
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31
BEIJING = timezone(timedelta(hours=8))  # China keeps no daylight saving time

SUMMARY_HEADERS = ("问题类型", "问题名称", "严重程度", "线索数", "涉及人数", "涉及金额（元）")
FINDING_HEADERS = (
    "线索编号",
    "学期",
    "身份证号",
    "姓名",
    "学校代码",
    "学校名称",
    "资助项目代码",
    "资助项目名称",
    "金额（元）",
    "严重程度",
    "问题描述",
    "来源文件及行号",
)
AMOUNT_COLUMN = FINDING_HEADERS.index("金额（元）")
ID_COLUMN = FINDING_HEADERS.index("身份证号")
WRAPPED_COLUMNS = {FINDING_HEADERS.index("问题描述"), FINDING_HEADERS.index("来源文件及行号")}
MIN_WIDTH, MAX_WIDTH = 8, 50


@dataclass(frozen=True)
class FindingType:
    code: str
    severity: str
    severity_rank: int
    name_cn: str


@dataclass(frozen=True)
class Finding:
    finding_key: str
    finding_type: str
    term_code: str | None
    person_key: str | None
    id_number: str | None
    person_name: str | None
    school_code: str | None
    school_name: str | None
    program_code: str | None
    program_name: str | None
    amount_yuan: Decimal | None
    severity: str | None
    evidence: str | None
    source_lines: str | None


FINDING_COLUMNS = ", ".join(Finding.__dataclass_fields__)


# --- pure functions -----------------------------------------------------------------


def looks_like_formula(value) -> bool:
    """Whether a spreadsheet could take this string for a formula (when typed in, edited
    or saved as CSV): it starts with one of FORMULA_TRIGGERS. Not a string: False."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def term_label(term_code: str | None) -> str | None:
    """'2019-autumn' -> '2019年秋季学期'; a code of another shape is kept as it is."""
    match = TERM_CODE.fullmatch(term_code or "")
    if not match:
        return term_code
    return f"{match[1]}年{SEASON_CN[match[2]]}学期"


def term_order(term_code: str | None) -> tuple:
    """Terms in time order (spring before autumn of a year), unknown shapes after them."""
    match = TERM_CODE.fullmatch(term_code or "")
    if not match:
        return (1, term_code or "")
    return (0, int(match[1]), 0 if match[2] == "spring" else 1)


def severity_label(severity: str | None) -> str | None:
    return SEVERITY_CN.get(severity or "", severity)


def ordered_types(seed: Sequence[FindingType], findings: Iterable[Finding]) -> list[FindingType]:
    """The seed's types by severity rank (seed order within a rank), then any type found in
    the data but missing from the seed, so that no finding is left out of the workbook."""
    types = sorted(seed, key=lambda t: t.severity_rank)  # stable: seed order within a rank
    known = {t.code for t in types}
    for f in findings:
        if f.finding_type not in known:
            known.add(f.finding_type)
            types.append(FindingType(f.finding_type, f.severity or "", 99, f.finding_type))
    return types


def sheet_names(names: Sequence[str], reserved: Sequence[str] = (SUMMARY_SHEET,)) -> list[str]:
    """Names Excel accepts: at most 31 characters, none of []:*?/\\, no leading or trailing
    apostrophe, unique ignoring case (as Excel compares them) and distinct from `reserved`."""
    taken = {r.casefold() for r in reserved} | {"history"}  # Excel reserves History
    result = []
    for name in names:
        base = SHEET_NAME_FORBIDDEN.sub("_", name).strip().strip("'") or "问题类型"
        candidate, n = base[:SHEET_NAME_MAX], 2
        while candidate.casefold() in taken:
            suffix = f"（{n}）"
            candidate, n = base[: SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (
            term_order(f.term_code),
            f.school_code is None,
            f.school_code or "",
            f.finding_key,
        ),
    )


def summary_rows(types: Sequence[FindingType], findings: Sequence[Finding]) -> list[tuple]:
    """(code, name, severity, findings, distinct persons, amount) per type, then 合计.

    The total's persons are distinct over all types (one person may have several findings);
    its amount is the sum of the types' amounts."""
    rows = []
    for t in types:
        mine = [f for f in findings if f.finding_type == t.code]
        rows.append(
            (
                t.code,
                t.name_cn,
                severity_label(t.severity),
                len(mine),
                len({f.person_key for f in mine if f.person_key is not None}),
                sum((f.amount_yuan or Decimal(0) for f in mine), Decimal(0)),
            )
        )
    rows.append(
        (
            "合计",
            None,
            None,
            sum(r[3] for r in rows),
            len({f.person_key for f in findings if f.person_key is not None}),
            sum((r[5] for r in rows), Decimal(0)),
        )
    )
    return rows


def finding_row(f: Finding, default_severity: str | None = None) -> tuple:
    """A finding's cells, in the order of FINDING_HEADERS."""
    return (
        f.finding_key,
        term_label(f.term_code),
        f.id_number,
        f.person_name,
        f.school_code,
        f.school_name,
        f.program_code,
        f.program_name,
        f.amount_yuan,
        severity_label(f.severity or default_severity),
        f.evidence,
        f.source_lines,
    )


def display_width(value) -> int:
    """Columns a value takes on screen: a CJK or full-width character takes two."""
    if value is None:
        return 0
    text = f"{value:,.2f}" if isinstance(value, Decimal) else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def column_widths(headers: Sequence[str], rows: Iterable[Sequence]) -> list[int]:
    widths = [display_width(h) for h in headers]
    for row in rows:
        widths = [max(w, display_width(v)) for w, v in zip(widths, row, strict=True)]
    return [min(max(w + 2, MIN_WIDTH), MAX_WIDTH) for w in widths]


# --- I/O ----------------------------------------------------------------------------


def read_finding_types() -> list[FindingType]:
    return [
        FindingType(r["finding_type"], r["severity"], int(r["severity_rank"]), r["finding_name_cn"])
        for r in read_seed("finding_types.csv")
    ]


def read_findings(audit_db: Path) -> list[Finding]:
    with duckdb.connect(str(audit_db), read_only=True) as con:
        rows = con.execute(f"select {FINDING_COLUMNS} from main.audit_finding").fetchall()
    return [Finding(*row) for row in rows]


def write_findings_workbook(
    audit_db: Path, target: Path, *, generated_at: datetime | None = None
) -> dict[str, int]:
    """Write the findings workbook of `audit_db` to `target`; return findings per type.

    Every type of the seed has a key (0 when it has no findings). Nothing is written, and a
    previous workbook at `target` stays as it was, if `audit_db` cannot be read or the
    write fails.
    """
    findings = sort_findings(read_findings(Path(audit_db)))
    types = ordered_types(read_finding_types(), findings)
    generated_at = generated_at or datetime.now(BEIJING)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        counts = _write(tmp, types, findings, generated_at)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return counts


def _write(
    path: Path, types: list[FindingType], findings: list[Finding], generated_at: datetime
) -> dict[str, int]:
    # the write_* calls below are explicit; these options guard any plain write() as well
    workbook = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    try:
        formats = _formats(workbook)
        _write_summary(
            workbook.add_worksheet(SUMMARY_SHEET), formats, types, findings, generated_at
        )
        counts = {}
        names = sheet_names([t.name_cn for t in types])
        for t, name in zip(types, names, strict=True):
            mine = [f for f in findings if f.finding_type == t.code]
            rows = [finding_row(f, t.severity) for f in mine]
            _write_finding_sheet(workbook.add_worksheet(name), formats, rows)
            counts[t.code] = len(rows)
    finally:
        workbook.close()
    return counts


FORMATS = {
    "plain": {},
    "title": {"bold": True, "font_size": 14},
    "header": {
        "bold": True,
        "bg_color": "#DDEBF7",
        "border": 1,
        "text_wrap": True,
        "valign": "top",
    },
    "text": {"num_format": "@", "valign": "top"},
    "wrapped": {"num_format": "@", "text_wrap": True, "valign": "top"},
    "count": {"num_format": "0", "valign": "top"},
    "amount": {"num_format": "#,##0.00", "valign": "top"},
    "total_text": {"bold": True, "top": 1, "num_format": "@"},
    "total_count": {"bold": True, "top": 1, "num_format": "0"},
    "total_amount": {"bold": True, "top": 1, "num_format": "#,##0.00"},
}
QUOTED = ":quoted"  # the twin of a format with the quote prefix: "text:quoted"


def _formats(workbook) -> dict:
    """Every format of FORMATS, and its quote-prefixed twin (for formula-looking text)."""
    formats = {}
    for name, properties in FORMATS.items():
        formats[name] = workbook.add_format(properties)
        formats[name + QUOTED] = workbook.add_format({**properties, "quote_prefix": True})
    return formats


def _put(sheet, row: int, col: int, value, formats: dict, kind: str = "plain") -> None:
    """One cell, by type: never write(), so that no string can become a formula or a link.

    A string is a text cell as it is; one that looks like a formula gets the quote prefix
    too, so that editing the cell in Excel keeps it text (its value stays unchanged)."""
    if value is None:
        sheet.write_blank(row, col, None, formats[kind])
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, col, float(value), formats[kind])
    else:
        text = str(value)
        quoted = looks_like_formula(text)
        sheet.write_string(row, col, text, formats[kind + QUOTED if quoted else kind])


def _write_summary(sheet, formats, types, findings, generated_at: datetime) -> None:
    notes = [
        ("学生资助问题线索汇总", "title"),
        ("说明：本工作簿所列均为问题线索，须逐条核实后方可定性，并非审计认定结论。", "plain"),
        (f"生成时间：{generated_at.astimezone(BEIJING):%Y-%m-%d %H:%M}（北京时间）", "plain"),
        (
            "合计行的涉及人数按人去重；涉及金额为各类线索金额之和（应助未助计应发未发的标准金额；"
            "同一笔发放可能涉及多类问题），仅供参考。",
            "plain",
        ),
    ]
    for r, (text, kind) in enumerate(notes):
        _put(sheet, r, 0, text, formats, kind)
    header_row = len(notes) + 1
    for c, header in enumerate(SUMMARY_HEADERS):
        _put(sheet, header_row, c, header, formats, "header")
    rows = summary_rows(types, findings)
    for r, values in enumerate(rows, start=header_row + 1):
        total = r == header_row + len(rows)
        kinds = ("text", "text", "text", "count", "count", "amount")
        for c, (value, kind) in enumerate(zip(values, kinds, strict=True)):
            _put(sheet, r, c, value, formats, f"total_{kind}" if total else kind)
    for c, width in enumerate(column_widths(SUMMARY_HEADERS, rows)):
        sheet.set_column(c, c, width)
    sheet.freeze_panes(header_row + 1, 0)


def _write_finding_sheet(sheet, formats, rows: list[tuple]) -> None:
    for c, header in enumerate(FINDING_HEADERS):
        _put(sheet, 0, c, header, formats, "header")
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            if c == AMOUNT_COLUMN:
                kind = "amount"
            elif c in WRAPPED_COLUMNS:
                kind = "wrapped"
            else:
                kind = "text"
            _put(sheet, r, c, value, formats, kind)
    for c, width in enumerate(column_widths(FINDING_HEADERS, rows)):
        # ID numbers stay text when someone types into the column later
        fmt = formats["text"] if c == ID_COLUMN else None
        sheet.set_column(c, c, width, fmt)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), len(FINDING_HEADERS) - 1)
