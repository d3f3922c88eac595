"""What a render is asked for and gives back: the file request, the quirk settings, the
rendered file, and the constants of the contract's layouts."""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

SOURCES = ("households", "students", "schools", "disbursements", "population", "dropout_ledger")


DATE_COLUMNS = ("birth_date", "paid_on", "recorded_on", "closed_on", "died_on")


MONTH_COLUMNS = ("enrolled_on",)


# Columns with their own spelling rules; the generic full-width quirk leaves them alone.
SPECIAL_COLUMNS = frozenset(("id_number", "name", "amount", *DATE_COLUMNS, *MONTH_COLUMNS))


SUFFIX_SOURCES = frozenset(("households", "population", "dropout_ledger"))


MERGE_COLUMNS = ("county", "township")


# Small integers that Excel users type as numbers (a year, a class, a statistics code).
NUMBER_CELL_COLUMNS = frozenset(("identified_year", "exit_year", "class", "urban_rural"))


PEOPLE_COUNT_UNIT = {"schools": "所", "disbursements": "条"}


XLS_MAX_ROWS = 65535


XLSX_MAX_ROWS = 1_048_576


CSV_CHUNK_ROWS = 200_000


FIXED_CREATED = dt.datetime(2020, 1, 1, 8, 0, 0)


REMARK, PHONE = "_remark", "_phone"  # keys of the extra columns


EXTRA_HEADERS = {REMARK: "备注", PHONE: "联系电话"}


@dataclass(frozen=True)
class QuirkConfig:
    """Per-value rates (or per-file switches) of the lossless quirks."""

    id_apostrophe: float = 0.03
    id_spaces: float = 0.02
    id_fullwidth: float = 0.02
    id_lowercase_x: float = 0.5  # of IDs whose check char is X
    id_15_digit: float = 0.3  # of IDs of people born 19xx (adults), households only
    name_inner_space: float = 0.02
    name_trailing_space: float = 0.02
    name_ideographic_space: float = 0.01
    name_dot_variant: float = 0.5  # of names containing ·
    fullwidth_text: float = 0.01  # other text cells folded to full-width (digits, parens)
    township_suffix: float = 0.05  # 城关镇 -> 城关镇人民政府 (乡 -> 乡人民政府)
    status_synonym: float = 0.2  # 在读 -> 在校 / 正常
    grade_spelling: float = 0.3  # 七年级 -> 初一 / 初中一年级, 高一 -> 高中一年级 …
    program_variant: float = 0.4  # canonical programme name -> a listed variant
    date_form_mix: bool = True  # vary date spellings within a file
    money_form_mix: bool = True
    blank_rows: float = 0.002  # blank line inserted after a record
    extra_columns: float = 0.3  # chance a file gets 备注 / 联系电话 columns
    header_variants: bool = True  # alias choice, stray spaces, full-width parentheses


@dataclass(frozen=True)
class FileRequest:
    source: str
    file_stem: str
    records: pd.DataFrame
    fmt: str = "csv"  # "csv" | "xlsx" | "xls"
    encoding: str = "utf-8"  # csv only: "utf-8" | "utf-8-sig" | "gbk" (gb18030 bytes)
    title: str | None = None
    subtitle: str | None = None
    with_total: bool = False
    with_signoff: bool = False
    sheet_by: str | None = None  # Excel only
    hidden_sheet: bool = False  # Excel only
    instructions_sheet: bool = False  # Excel only
    merge_cells: bool = False  # Excel only
    quirk_seed: int = 0
    # When set, header aliases rotate with it (file k of a source uses alias k mod n of
    # each family), so that a source's files together use every alias; else random.
    alias_rotation: int | None = None


@dataclass
class RenderedFile:
    path: Path
    source: str
    fmt: str
    encoding: str | None
    sheets: list[str]
    locations: pd.DataFrame  # sheet_name, row_number (1-based), one row per input record
    stated_total: Decimal | None
    header: list[str]
    quirks: collections.Counter = field(default_factory=collections.Counter)


class RenderError(ValueError):
    """A request that cannot be written as asked (the message names the file)."""
