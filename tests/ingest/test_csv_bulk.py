"""The two ways a CSV file is staged give the same load, row for row.

`_stage_csv_bulk` hands the body to DuckDB's reader whole and numbers the rows by their
position; `_stage_csv_by_line` frames and numbers every line in Python (damaged bytes,
quotes over several lines, blank lines). Every CSV of the conformance corpus and of the
samples, and files written here with each awkward shape, are loaded both ways into two
databases; the raw rows with their line numbers, the quarantine and the manifest must be
equal, and the bulk path must be the one taken wherever its condition holds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import csv_files
from orchestration.ingest.loader import load_landing

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS_CSV = sorted((FIXTURES / "conformance" / "ingest").rglob("*.csv")) + sorted(
    (FIXTURES / "samples").rglob("*.csv")
)
HEADER = "学校名称,姓名,身份证号,学年,学期,资助项目,年级,金额,发放日期\n"
LINE = (
    "示范县第一小学,张三,420399201001010012,2020-2021,秋季学期,义务教育营养改善计划,三年级,"
    "400.00,2020-10-15\n"
)
# (name, content, whether the bulk path holds for it)
AWKWARD = [
    ("plain.csv", HEADER + LINE * 5, True),
    ("title_rows.csv", "示范县2020年秋季资助发放名单\n\n" + HEADER + LINE * 3, True),
    ("crlf.csv", (HEADER + LINE * 3).replace("\n", "\r\n"), True),
    ("no_final_newline.csv", HEADER + LINE * 3 + LINE.rstrip("\n"), True),
    ("totals_short.csv", HEADER + LINE * 3 + "合计,3人,,,,,,1200.00\n制表人：王五\n", True),
    ("totals_full.csv", HEADER + LINE * 3 + "合计,,,,,,,1200.00,\n", True),
    (
        "ragged.csv",
        HEADER + LINE + "示范县第一小学,李四,4203\n" + LINE + LINE[:-1] + ",多余\n",
        True,
    ),
    ("commas_only.csv", HEADER + LINE + ",,,,,,,,\n" + LINE, True),
    ("blank_line.csv", HEADER + LINE + "\n" + LINE, False),
    (
        "quoted_newline.csv",
        HEADER
        + LINE
        + '示范县第一小学,"王\n五",420399,2020-2021,秋季,营养,三年级,400,2020-10-15\n'
        + LINE,
        False,
    ),
    ("unbalanced_quote.csv", HEADER + LINE + '示范县第一小学,"王五,420399\n' + LINE * 2, False),
    ("gbk.csv", (HEADER + LINE * 3).encode("gb18030"), True),
    ("bom.csv", b"\xef\xbb\xbf" + (HEADER + LINE * 2).encode(), True),
    ("damaged_byte.csv", (HEADER + LINE * 3).encode() + b"\xff\xfe\xfa,x\n" + LINE.encode(), False),
    ("quoted_cells.csv", HEADER + LINE.replace("张三", '"张,三"') * 3, True),
]


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    """Everything the load wrote, less the load's own clock."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [
            t for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw' order by 1"
            ).fetchall()
        ]  # fmt: skip
        out = {}
        for table in tables:
            cols = [
                c for (c,) in con.execute(
                    "select column_name from duckdb_columns() where schema_name = 'raw' "
                    "and table_name = ? order by column_index", [table],
                ).fetchall()
                if c not in ("_loaded_at", "loaded_at", "first_seen_at", "last_seen_at")
            ]  # fmt: skip
            quoted = ", ".join(f'"{c}"' for c in cols)
            out[table] = con.execute(f'select {quoted} from raw."{table}" order by all').fetchall()
    return out


def _load_both(tmp_path: Path, monkeypatch, landing: Path) -> tuple[dict, dict, int]:
    calls = []
    by_line = csv_files._stage_csv_by_line

    def counted(*args, **kwargs):
        calls.append(args[3].file_name)
        return by_line(*args, **kwargs)

    monkeypatch.setattr(csv_files, "_stage_csv_by_line", counted)
    load_landing(landing, tmp_path / "bulk.duckdb")
    bulk_fallbacks = len(calls)
    monkeypatch.setattr(csv_files, "BULK_CSV", False)
    load_landing(landing, tmp_path / "line.duckdb")
    return _snapshot(tmp_path / "bulk.duckdb"), _snapshot(tmp_path / "line.duckdb"), bulk_fallbacks


@pytest.mark.parametrize("path", CORPUS_CSV, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_csv_of_the_corpus_and_samples_loads_the_same_both_ways(path, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    (landing / path.parent.name).mkdir(parents=True)
    shutil.copyfile(path, landing / path.parent.name / path.name)
    bulk, by_line, _ = _load_both(tmp_path, monkeypatch, landing)
    assert bulk == by_line


@pytest.mark.parametrize("name,content,bulk_holds", AWKWARD, ids=[a[0] for a in AWKWARD])
def test_awkward_files_load_the_same_both_ways(name, content, bulk_holds, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    target = landing / "disbursements" / f"2020-11_{name}"
    target.parent.mkdir(parents=True)
    target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    bulk, by_line, fallbacks = _load_both(tmp_path, monkeypatch, landing)
    assert bulk == by_line
    assert fallbacks == (0 if bulk_holds else 1)
    manifest = bulk["load_manifest"]
    assert len(manifest) == 1 and manifest[0][-4] == "loaded", manifest


def test_rows_keep_their_line_numbers_when_the_process_turned_insertion_order_off(tmp_path):
    """dbt's profile turns DuckDB's `preserve_insertion_order` off; the setting belongs to the
    database instance, which every connection of a process shares (dbt run in process, then
    the next ingest: tests/dbt/test_incremental.py found 231 rows with another row's line).
    A file large enough to be read in parallel keeps each row's own line number."""
    landing = tmp_path / "landing" / "population"
    landing.mkdir(parents=True)
    n = 300_000
    lines = ["公民身份号码,姓名,性别,出生日期,户籍乡镇,户籍村(居)委会,人口状态,死亡日期"]
    lines += [f"P{i:09d},名{i},男,2010-01-01,城关镇,向阳村,正常," for i in range(n)]
    (landing / "适龄人口_2020-09.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    database = tmp_path / "build.duckdb"
    other = duckdb.connect(str(database))  # another connection of this process, as dbt's
    other.execute("set preserve_insertion_order = false")
    try:
        load_landing(tmp_path / "landing", database)
        wrong = other.execute(
            "select count(*) from raw.population "
            "where id_number <> 'P' || lpad(cast(_row_number - 2 as varchar), 9, '0')"
        ).fetchone()[0]
        assert other.execute("select count(*) from raw.population").fetchone()[0] == n
    finally:
        other.close()
    assert wrong == 0
