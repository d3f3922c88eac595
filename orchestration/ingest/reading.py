"""Pure reading rules for registry exports: no I/O, no database.

Encoding detection, record framing, header detection, header aliases, totals and
sign-off rows, stated totals, money parsing and snapshot months from file names.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from orchestration.money import parse_amount  # the one money rule; re-exported
from orchestration.seeds import read_seed

SOURCES: tuple[str, ...] = (
    "households",
    "students",
    "schools",
    "disbursements",
    "population",
    "dropout_ledger",
)
# Disbursement files carry their term in their rows; every other source is a snapshot.
SNAPSHOT_SOURCES = frozenset(s for s in SOURCES if s != "disbursements")
# Requirements the seed's is_required cannot express: at least one of these columns.
REQUIRED_ONE_OF: dict[str, tuple[tuple[str, ...], ...]] = {
    "students": (("student_number", "id_number"),),
}
# The money column whose sum a totals row states.
AMOUNT_COLUMN = {"disbursements": "amount"}
EXTENSIONS = (".csv", ".xlsx", ".xls")
HEADER_SCAN_ROWS = 30
MIN_HEADER_MATCHES = 2


class IngestError(Exception):
    """A file cannot be loaded at all; the message names the file (and column).

    Auditors read Chinese and engineers English: the message is both, Chinese first
    (`中文说明 / English text`)."""

    def __init__(self, english: str, chinese: str | None = None):
        self.english, self.chinese = english, chinese
        super().__init__(f"{chinese} / {english}" if chinese else english)


# --------------------------------------------------------------------------- names


def normalise_header(text: object) -> str:
    """NFKC (full-width to half-width), all whitespace removed, `*` markers dropped."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text))
    return "".join(folded.split()).strip("*")


_MONTH_PATTERNS = re.compile(
    r"(?<!\d)(?P<y1>(?:19|20)\d\d)年(?P<m1>\d{1,2})月"
    r"|(?<!\d)(?P<y2>(?:19|20)\d\d)-(?P<m2>\d{1,2})(?!\d)"
    r"|(?<!\d)(?P<y3>(?:19|20)\d\d)(?P<m3>\d\d)(?:\d\d)?(?!\d)"
)


def snapshot_month(file_name: str) -> date | None:
    """First `YYYYMM`, `YYYY-MM` or `YYYY年M月` in a file name, as the month's first day.

    `YYYYMMDD` counts as its month. Returns None when the name holds no month;
    raises ValueError when the first month found is not 01-12.
    """
    stem = Path(file_name).name
    match = _MONTH_PATTERNS.search(unicodedata.normalize("NFKC", stem))
    if match is None:
        return None
    year = next(g for g in (match["y1"], match["y2"], match["y3"]) if g)
    month = next(g for g in (match["m1"], match["m2"], match["m3"]) if g)
    if not 1 <= int(month) <= 12:
        raise ValueError(f"month {month} in {match.group(0)!r} is not 01-12")
    return date(int(year), int(month), 1)


# --------------------------------------------------------------------------- aliases


@dataclass(frozen=True)
class SourceColumns:
    """The canonical columns of one source and how header spellings map to them."""

    source: str
    columns: tuple[str, ...]
    aliases: dict[str, str]
    required: frozenset[str]
    required_one_of: tuple[tuple[str, ...], ...] = ()
    spellings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def canonical(self, header_cell: object) -> str | None:
        return self.aliases.get(normalise_header(header_cell))


def parse_alias_table(
    column_rows: Iterable[dict[str, str]], alias_rows: Iterable[dict[str, str]]
) -> dict[str, SourceColumns]:
    """Per-source column maps from the two seeds: `source_columns.csv` (each source's
    canonical columns in contract order, the header concept each one is spelled by, and
    whether it is required) and `header_aliases.csv` (the one vocabulary: every spelling
    of every concept). A spelling added to the vocabulary holds for every source that
    has a column of that concept."""
    vocabulary: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for row in alias_rows:
        concept, alias = row["concept"].strip(), normalise_header(row["alias"])
        if owner.setdefault(alias, concept) != concept:
            raise ValueError(f"header alias {alias!r} spells both {owner[alias]} and {concept}")
        if alias not in vocabulary.setdefault(concept, []):
            vocabulary[concept].append(alias)
    columns: dict[str, list[str]] = {}
    aliases: dict[str, dict[str, str]] = {}
    required: dict[str, set[str]] = {}
    spellings: dict[str, dict[str, tuple[str, ...]]] = {}
    for row in column_rows:
        source, column, concept = (row[k].strip() for k in ("source", "column_name", "concept"))
        if concept not in vocabulary:
            raise ValueError(f"{source}.{column}: concept {concept!r} has no spelling")
        columns.setdefault(source, []).append(column)
        spellings.setdefault(source, {})[column] = tuple(vocabulary[concept])
        for alias in vocabulary[concept]:
            aliases.setdefault(source, {})[alias] = column
        if row.get("is_required", "").strip().lower() == "true":
            required.setdefault(source, set()).add(column)
    return {
        source: SourceColumns(
            source=source,
            columns=tuple(cols),
            aliases=aliases[source],
            required=frozenset(required.get(source, ())),
            required_one_of=REQUIRED_ONE_OF.get(source, ()),
            spellings=spellings[source],
        )
        for source, cols in columns.items()
    }


def load_alias_table(seeds_dir: Path) -> dict[str, SourceColumns]:
    """The column maps of `seeds_dir` (source_columns.csv and header_aliases.csv)."""
    return parse_alias_table(
        read_seed("source_columns.csv", seeds_dir), read_seed("header_aliases.csv", seeds_dir)
    )


def header_score(cells: Sequence[object], spec: SourceColumns) -> int:
    """How many distinct canonical columns a candidate header row names."""
    return len({c for c in (spec.canonical(x) for x in cells) if c})


def find_header_row(rows: Iterable[Sequence[object]], spec: SourceColumns) -> int | None:
    """Index of the header row among the first rows: the first row naming the most
    canonical columns (at least MIN_HEADER_MATCHES); title rows above it score 0."""
    best, best_score = None, MIN_HEADER_MATCHES - 1
    for index, cells in enumerate(rows):
        if index >= HEADER_SCAN_ROWS:
            break
        score = header_score(cells, spec)
        if score > best_score:
            best, best_score = index, score
    return best


@dataclass(frozen=True)
class ColumnMap:
    """Positional header of one file or sheet mapped to canonical columns."""

    names: tuple[str, ...]  # header text per position (generated `_colN` when empty)
    canonical: dict[int, str]  # position -> canonical column (first spelling wins)
    extra: dict[int, str]  # position -> header text of an unmapped column
    # position -> the known spelling an unrecognised header is close to (a likely typo)
    suggestions: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, str]:
        return {self.names[i]: c for i, c in self.canonical.items()}

    def suggestion_notes(self) -> list[str]:
        """`未识别的列 "身份证号吗"，是否为 身份证号码？` per likely typo, in both languages."""
        return [
            f'未识别的列 "{self.names[i]}"，是否为 {alias}？ '
            f'(unrecognised column "{self.names[i]}": did you mean {alias}?)'
            for i, alias in self.suggestions.items()
        ]


SUGGESTION_CUTOFF = 0.75  # difflib ratio: one wrong character in a 4- or 5-character name


def map_header(header: Sequence[object], spec: SourceColumns) -> ColumnMap:
    names: list[str] = []
    canonical: dict[int, str] = {}
    extra: dict[int, str] = {}
    taken: set[str] = set()
    for i, cell in enumerate(header):
        text = "" if cell is None else str(cell).strip()
        name = text or f"_col{i + 1}"
        if name in names:  # a repeated header text: keep both, distinguishably
            name = f"{name}_{i + 1}"
        names.append(name)
        col = spec.canonical(text)
        if col and col not in taken:
            canonical[i] = col
            taken.add(col)
        else:
            extra[i] = name
    suggestions = {}
    for i in extra:
        key = normalise_header(header[i])
        if not key or spec.canonical(key):
            continue
        free = [a for a, c in spec.aliases.items() if c not in taken]
        close = difflib.get_close_matches(key, free, n=1, cutoff=SUGGESTION_CUTOFF)
        if close:
            suggestions[i] = close[0]
    return ColumnMap(tuple(names), canonical, extra, suggestions)


def missing_required(cmap: ColumnMap, spec: SourceColumns) -> list[str]:
    """Descriptions of the required columns the header lacks (empty when complete)."""
    present = set(cmap.canonical.values())
    missing = []
    for col in spec.columns:  # seed order, so messages are stable
        if col in spec.required and col not in present:
            spelled = "/".join(spec.spellings.get(col, ()))
            missing.append(f"{col} ({spelled})")
    for group in spec.required_one_of:
        if not present.intersection(group):
            missing.append(" or ".join(group))
    return missing


def missing_columns_error(where: str, cmap: ColumnMap, spec: SourceColumns) -> IngestError | None:
    """The error for a header without a required column: names the file (`where`), the
    columns, the headers that were found and the likely typos; None when complete."""
    missing = missing_required(cmap, spec)
    if not missing:
        return None
    found = "、".join(n for n in cmap.names if not n.startswith("_col")) or "(none)"
    notes = cmap.suggestion_notes()
    return IngestError(
        f"{where}: missing required column {', '.join(missing)}; headers found: {found}"
        + "".join(f"; {n}" for n in notes),
        f"{where}：缺少必需的列 {'，'.join(missing)}；文件中的列：{found}"
        + "".join(f"；{n.split(' (')[0]}" for n in notes),
    )


# --------------------------------------------------------------------------- rows

# `合计`, `总计：`, `小计(元)`, `城关镇小计`, but not a name such as `合计镇中心小学`.
_TOTAL_LABEL = re.compile(r"^(?:[合总小]计(?![\u4e00-\u9fff])|[\u4e00-\u9fff]{1,12}[合小]计$)")
_GRAND_TOTAL_LABEL = re.compile(r"^[合总]计(?![\u4e00-\u9fff])")
_SIGNOFF = re.compile(
    r"制表人|审核人|导出人|导出时间|填报人|负责人|制表日期|制表时间|审核日期|填报日期|填报单位"
)
# Cheap pre-filter (RE2 and Python): a row that matches none of these is plain data.
TRAILER_HINT_PATTERN = r"合\s*计|总\s*计|小\s*计|制表|审核|导出|填报|负责人"
# every match of it holds one of these: a cheap filter before the regular expression
TRAILER_HINT_NEEDLES = ("计", "制表", "审核", "导出", "填报", "负责人")
_BLANK_CHARS = " \t\r\n\u3000\u00a0"


def is_blank(cells: Sequence[object]) -> bool:
    return all(c is None or not str(c).strip(_BLANK_CHARS) for c in cells)


def row_kind(cells: Sequence[object]) -> str:
    """`blank`, `total` (合计/总计/小计 in one of the first cells), `signoff`
    (制表人/审核人/导出时间… on a sparse row) or `data`."""
    texts = [normalise_header(c) for c in cells]
    filled = [t for t in texts if t]
    if not filled:
        return "blank"
    if any(_TOTAL_LABEL.match(t) for t in filled[:2]):
        return "total"
    if len(filled) <= max(3, len(texts) // 2) and any(_SIGNOFF.search(t) for t in filled):
        return "signoff"
    return "data"


def is_grand_total(cells: Sequence[object]) -> bool:
    filled = [t for t in (normalise_header(c) for c in cells) if t]
    return any(_GRAND_TOTAL_LABEL.match(t) for t in filled[:2])


_COUNT = re.compile(r"(\d+)(?:人|名|条|笔|户|所|个|行|项)?")


def parse_count(text: object) -> int | None:
    """`7人`, `11条`, `7` -> int; else None."""
    if text is None:
        return None
    match = _COUNT.fullmatch(normalise_header(text))
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class StatedTotal:
    kind: str  # "amount" (yuan) or "count" (lines)
    value: Decimal


def stated_total(
    total_rows: Sequence[Sequence[object]], amount_index: int | None
) -> StatedTotal | None:
    """What a file's totals rows state: the grand total (last 合计/总计 row), else the
    sum of 小计 rows. For a source with an amount column that is the money in that
    column (or a cell written as money); otherwise the count (`7人`)."""
    if not total_rows:
        return None
    grand = [r for r in total_rows if is_grand_total(r)]
    rows = grand[-1:] if grand else list(total_rows)
    if amount_index is not None:
        amounts = [_row_amount(r, amount_index) for r in rows]
        if all(a is not None for a in amounts):
            return StatedTotal("amount", sum(amounts, Decimal(0)))
    counts = [_row_count(r) for r in rows]
    if all(c is not None for c in counts):
        return StatedTotal("count", Decimal(sum(counts)))
    return None


def _row_amount(cells: Sequence[object], amount_index: int) -> Decimal | None:
    if amount_index < len(cells):
        value = parse_amount(cells[amount_index])
        if value is not None:
            return value
    for cell in cells[1:]:  # a total written as money elsewhere on the row
        text = normalise_header(cell)
        if text and ("元" in text or "￥" in text or "¥" in text or "." in text):
            value = parse_amount(text)
            if value is not None:
                return value
    return None


_LABEL_PREFIX = re.compile(r"^[\u4e00-\u9fff]{0,12}[合总小]计[:：]?")


def _row_count(cells: Sequence[object]) -> int | None:
    """The count a totals row states: in a cell after its label, or in the label's own
    cell (`合计：3条`)."""
    values = [parse_count(c) for c in cells[1:]]
    found = [v for v in values if v is not None]
    if found:
        return found[0]
    for cell in cells:
        text = normalise_header(cell)
        rest = _LABEL_PREFIX.sub("", text, count=1)
        count = parse_count(rest) if rest != text else None
        if count is not None:
            return count
    return None


# --------------------------------------------------------------------------- text

UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class DecodedText:
    encoding: str  # utf-8, utf-8-sig or gb18030
    lines: list[str | None]  # physical lines; None where the bytes did not decode
    undecodable: dict[int, str]  # 1-based line number -> the bytes shown with escapes


def check_text_file(data: bytes, file_name: str) -> None:
    """Reject what is not a text file: empty, a workbook named .csv, binary data."""
    if not data:
        raise IngestError(f"{file_name}: empty file (0 bytes)", f"文件 {file_name} 为空（0 字节）")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(
            f"{file_name}: UTF-16 text; expected UTF-8 or GBK/GB18030",
            f"文件 {file_name} 是 UTF-16 编码的文本：请另存为 UTF-8 或 GBK（GB18030）编码的 CSV",
        )
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise IngestError(
            f"{file_name}: an Excel workbook (or zip) named .csv, not CSV text",
            f"文件 {file_name} 实为 Excel 工作簿（或压缩包），却以 .csv 命名："
            "请改回 .xlsx/.xls 扩展名，或在 Excel 中另存为 CSV",
        )
    head = data[:65536]
    if b"\x00" in head:
        raise IngestError(
            f"{file_name}: contains NUL bytes: not a text file",
            f"文件 {file_name} 含有 NUL（空）字节，不是文本文件",
        )
    controls = sum(head.count(bytes([b])) for b in range(32) if b not in (9, 10, 13))
    if controls > max(8, len(head) // 100):
        raise IngestError(
            f"{file_name}: {controls} control characters: not a text file",
            f"文件 {file_name} 含有 {controls} 个控制字符，不是文本文件",
        )


def decode_text(data: bytes, file_name: str) -> DecodedText:
    """Decode UTF-8 (with or without BOM) or GB18030 (GBK's superset).

    A file that mostly decodes keeps its good lines; the lines that do not decode are
    returned as undecodable (quarantined by the loader). A file of which less than
    half of the lines decode is rejected whole.
    """
    whole = decode_whole(data, file_name)
    if whole is not None:
        encoding, text = whole
        return DecodedText(encoding, split_lines(text), {})
    encoding = "utf-8"
    if data.startswith(UTF8_BOM):
        encoding, data = "utf-8-sig", data[len(UTF8_BOM) :]
    raw_lines = split_lines_bytes(data)
    if encoding == "utf-8" and not _mostly_utf8(raw_lines):
        try:
            return DecodedText("gb18030", split_lines(data.decode("gb18030")), {})
        except UnicodeDecodeError:
            encoding = "gb18030"
    lines: list[str | None] = []
    undecodable: dict[int, str] = {}
    codec = "utf-8" if encoding.startswith("utf-8") else "gb18030"
    for number, raw in enumerate(raw_lines, 1):
        try:
            lines.append(raw.decode(codec))
        except UnicodeDecodeError:
            lines.append(None)
            undecodable[number] = raw.decode(codec, errors="backslashreplace")
    if len(undecodable) * 2 > len(lines):
        raise IngestError(
            f"{file_name}: not decodable as UTF-8 or GBK/GB18030 "
            f"({len(undecodable)} of {len(lines)} lines fail as {codec})",
            f"文件 {file_name} 无法按 UTF-8 或 GBK/GB18030 解码"
            f"（按 {codec} 解码，{len(lines)} 行中有 {len(undecodable)} 行出错）",
        )
    return DecodedText(encoding, lines, undecodable)


def decode_whole(data: bytes, file_name: str) -> tuple[str, str] | None:
    """(encoding, text) when every byte of the file decodes, as UTF-8 (with or without
    BOM) or else as GB18030; None when some lines do not (decode_text finds them)."""
    check_text_file(data, file_name)
    encoding = "utf-8"
    if data.startswith(UTF8_BOM):
        encoding, data = "utf-8-sig", data[len(UTF8_BOM) :]
    try:
        return encoding, data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if encoding == "utf-8" and not _mostly_utf8(split_lines_bytes(data[:1_000_000])):
        try:
            return "gb18030", data.decode("gb18030")
        except UnicodeDecodeError:
            pass
    return None


def _mostly_utf8(raw_lines: list[bytes]) -> bool:
    """GBK text is almost never valid UTF-8: if most non-ASCII lines are valid UTF-8,
    the file is UTF-8 with a few damaged lines."""
    good = bad = 0
    for raw in raw_lines:
        if raw.isascii():
            continue
        try:
            raw.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
        if good + bad >= 5000:  # a sample decides
            break
    return good > bad


def split_lines(text: str) -> list[str]:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def split_lines_bytes(data: bytes) -> list[bytes]:
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


MAX_RECORD_LINES = 50


def frame_records(
    lines: Sequence[str | None],
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Group physical lines into CSV records: (first line number, record text).

    A record spans lines only while a quoted field is open (odd number of quote
    characters so far), for at most MAX_RECORD_LINES lines, so that one stray quote
    cannot swallow the rest of a file. Returns the records and, apart, the lines
    whose quote never closes (no CSV reader can split them). Undecodable lines
    (None) are left out.
    """
    if not any(line is not None and '"' in line for line in lines):
        return [(n, line) for n, line in enumerate(lines, 1) if line is not None], []
    records: list[tuple[int, str]] = []
    unbalanced: list[tuple[int, str]] = []
    total = len(lines)
    i = 0
    while i < total:
        line = lines[i]
        if line is None:
            i += 1
            continue
        if line.count('"') % 2 == 0:
            records.append((i + 1, line))
            i += 1
            continue
        parts, quotes, j = [line], line.count('"'), i + 1
        while quotes % 2 and j < total and j - i < MAX_RECORD_LINES and lines[j] is not None:
            parts.append(lines[j])
            quotes += lines[j].count('"')
            j += 1
        if quotes % 2:
            unbalanced.append((i + 1, line))
            i += 1
        else:
            records.append((i + 1, "\n".join(parts)))
            i = j
    return records, unbalanced


def parse_csv_record(text: str) -> list[str]:
    """Cells of one CSV record (for the few rows handled in Python)."""
    try:
        return next(csv.reader(io.StringIO(text), strict=False))
    except (csv.Error, StopIteration):
        return [text]


def is_blank_line(text: str) -> bool:
    return not text.strip(' ,"\t\r\u3000\u00a0')
