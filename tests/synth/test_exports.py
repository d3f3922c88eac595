"""The generated landing folder conforms to the contract (raw_exports.md): every source,
every alias family, every quirk, three formats and three encodings, files that open."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from eduaid_synth.cli import generate
from eduaid_synth.truth import read_table

SOURCES = ("households", "students", "schools", "disbursements", "population", "dropout_ledger")
SEEDS = Path(__file__).resolve().parents[2] / "seeds"
QUIRKS = (  # raw_exports.md's table, as the renderer counts them
    "gbk",
    "utf8",
    "utf8_bom",
    "title_row",
    "subtitle_row",
    "total_row",
    "signoff_row",
    "header_alias",
    "header_fullwidth_paren",
    "extra_column_remark",
    "extra_column_phone",
    "fullwidth_text",
    "id_apostrophe",
    "id_spaces",
    "id_fullwidth",
    "id_lowercase_x",
    "id_15_digit",
    "id_excel_mangled",
    "name_inner_space",
    "name_trailing_space",
    "name_ideographic_space",
    "name_dot_variant",
    "date_iso",
    "date_slash",
    "date_dot",
    "date_compact",
    "date_cn",
    "excel_serial_date",
    "month_dot",
    "month_dash",
    "month_cn",
    "money_comma2",
    "money_yuan",
    "money_rmb",
    "blank_row",
    "multi_sheet",
    "hidden_sheet",
    "instructions_sheet",
    "merged_cells",
    "township_suffix",
    "status_synonym",
    "grade_spelling",
    "program_variant",
    "one_cell_term",
    "full_year_term",
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _files(county: Path) -> pd.DataFrame:
    return read_table(county / "truth", "files")


def test_every_source_has_a_file_per_snapshot_or_batch(county):
    files = _files(county)
    for source in SOURCES:
        on_disk = sorted(p.name for p in (county / "landing" / source).iterdir())
        assert on_disk == sorted(files.loc[files["source"] == source, "file_name"])
    for source in ("students", "schools", "population", "dropout_ledger"):
        assert (files["source"] == source).sum() >= 6
    assert (files["source"] == "disbursements").sum() >= 6 * 3


def test_files_open_in_their_format_and_encoding(county):
    files = _files(county)
    for r in files.itertuples():
        path = county / "landing" / r.source / r.file_name
        data = path.read_bytes()
        if r.file_format == "csv":
            if r.encoding == "utf-8-sig":
                assert data.startswith(b"\xef\xbb\xbf"), r.file_name
                text = data.decode("utf-8-sig")
            elif r.encoding == "utf-8":
                assert not data.startswith(b"\xef\xbb\xbf")
                text = data.decode("utf-8")
            else:
                try:
                    data.decode("utf-8")
                    raise AssertionError(f"{r.file_name} is said to be GBK but is valid UTF-8")
                except UnicodeDecodeError:
                    pass
                text = data.decode("gb18030")
            assert len(list(csv.reader(text.splitlines()))) > 1
        else:
            wb = CalamineWorkbook.from_path(str(path))
            assert wb.sheet_names, r.file_name
    assert set(files["file_format"]) == {"csv", "xlsx", "xls"}
    assert {"gbk", "utf-8", "utf-8-sig"} <= set(files["encoding"])


def test_every_header_alias_occurs(county):
    files = _files(county)
    seen: dict[str, set[str]] = {s: set() for s in SOURCES}
    for r in files.itertuples():
        seen[r.source] |= {_norm(h) for h in r.header.split("|")}
    with open(SEEDS / "header_aliases.csv", encoding="utf-8") as f:
        vocabulary = [(a["concept"], a["alias"]) for a in csv.DictReader(f)]
    with open(SEEDS / "source_columns.csv", encoding="utf-8") as f:
        columns = list(csv.DictReader(f))
    missing = [
        (c["source"], alias)
        for c in columns
        for concept, alias in vocabulary
        if concept == c["concept"] and _norm(alias) not in seen[c["source"]]
    ]
    assert not missing


def test_every_quirk_occurs(county):
    total: Counter = Counter()
    for q in _files(county)["quirks"]:
        total.update(json.loads(q) if q else {})
    assert [q for q in QUIRKS if total[q] == 0] == []


def test_copies_and_corrections(county):
    files = _files(county)
    copies = files[files["copy_of"] != ""]
    assert len(copies) >= 2
    for r in copies.itertuples():
        d = county / "landing" / r.source
        assert (d / r.file_name).read_bytes() == (d / r.copy_of).read_bytes()
    hh = county / "landing" / "households"
    corrected = [p for p in hh.iterdir() if "更正" in p.name]
    assert len(corrected) == 1
    month = re.search(r"\d{6}|\d{4}-\d{2}|\d{4}年\d+月", corrected[0].name).group(0)
    first = [p for p in hh.iterdir() if month in p.name and p != corrected[0]]
    assert len(first) == 1
    assert os.stat(corrected[0]).st_mtime > os.stat(first[0]).st_mtime


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "generation.json"
    }


def test_same_seed_same_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(1, 11, a / "landing", a / "truth", size=0.05)
    generate(1, 11, b / "landing", b / "truth", size=0.05)
    generate(1, 12, c / "landing", c / "truth", size=0.05)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
