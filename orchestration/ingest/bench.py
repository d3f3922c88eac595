"""Ingest benchmark: load a landing folder into a fresh database and print rows/second.

    python -m orchestration.ingest.bench --landing data/landing
    python -m orchestration.ingest.bench --synthetic 300000   # no landing folder needed

`--synthetic N` writes a landing folder of about N student rows first (UTF-8, GBK
and BOM CSVs, xlsx with several sheets, and xls), so the figure can be measured
without the generator.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from orchestration.ingest.loader import load_landing

HEADER = [
    "学校标识码", "学校名称", "全国学籍号", "姓名", "性别", "出生日期", "身份证件号", "年级",
    "班级", "入学年月", "就读方式", "学籍状态", "户口所在地", "是否残疾", "是否留守儿童",
]  # fmt: skip


def _rows(n: int, rng: random.Random) -> list[list[str]]:
    rows = []
    for i in range(n):
        ident = f"420399{2005 + i % 12}{1 + i % 12:02d}{1 + i % 28:02d}{i % 10000:04d}"
        rows.append(
            [
                f"21420399{i % 90 + 10}", "示范县城关镇中心小学", f"G{ident}", f"学生{i}",
                rng.choice("男女"), "2012-04-04", ident, "六年级", str(i % 9), "2015.9",
                "住校", "在读", "城关镇", "否", "是",
            ]
        )  # fmt: skip
    return rows


def write_synthetic(landing: Path, total_rows: int, seed: int = 7) -> None:
    """About total_rows student rows in 12 monthly files of mixed formats."""
    import xlsxwriter
    import xlwt

    rng = random.Random(seed)
    folder = landing / "students"
    folder.mkdir(parents=True, exist_ok=True)
    per_file = max(1, total_rows // 12)
    for k in range(12):
        month = f"2020{k + 1:02d}"
        rows = _rows(per_file, rng)
        kind = ("csv-utf8", "csv-gbk", "csv-bom", "xlsx", "csv-gbk", "xls")[k % 6]
        if kind.startswith("csv"):
            text = "示范县学籍信息\n" + "\n".join(",".join(r) for r in [HEADER, *rows])
            text += f"\n合计,,,{len(rows)}人\n"
            encoding = {"csv-utf8": "utf-8", "csv-gbk": "gbk", "csv-bom": "utf-8-sig"}[kind]
            (folder / f"学籍信息_{month}.csv").write_bytes(text.encode(encoding))
        elif kind == "xlsx":
            book = xlsxwriter.Workbook(folder / f"学籍信息_{month}.xlsx", {"constant_memory": True})
            for s in range(3):
                sheet = book.add_worksheet(f"片区{s + 1}")
                sheet.write_row(0, 0, HEADER)
                for r, row in enumerate(rows[s::3], 1):
                    sheet.write_row(r, 0, row)
            book.close()
        else:
            book = xlwt.Workbook()
            for s, start in enumerate(range(0, len(rows), 60000)):
                sheet = book.add_sheet(f"Sheet{s + 1}")
                for j, name in enumerate(HEADER):
                    sheet.write(0, j, name)
                for r, row in enumerate(rows[start : start + 60000], 1):
                    for j, value in enumerate(row):
                        sheet.write(r, j, value)
            book.save(str(folder / f"学籍信息_{month}.xls"))


def csv_against_bare_duckdb(landing: Path) -> dict[str, float]:
    """The ingest and bare DuckDB on the same CSV files, one after the other here.

    Ingest: `load_landing` on a landing folder of the CSV files alone (linked, not
    copied), into a fresh database: decoding, header, lineage, manifest, quarantine,
    checkpoints. Bare: for each file, `create table … as select * from read_csv(…,
    all_varchar = true)` into another fresh database file: DuckDB's parser at its speed,
    every column text, nothing checked (a GBK line it cannot read is dropped, not
    decoded: bare does less work there). Ratio = bare seconds / ingest seconds.
    """
    files = sorted(p for p in landing.rglob("*") if p.suffix.lower() == ".csv")
    with tempfile.TemporaryDirectory(prefix="eduaid_bench_csv_") as tmp:
        only_csv = Path(tmp) / "landing"
        for path in files:
            target = only_csv / path.relative_to(landing)  # a county's folder kept
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.hardlink_to(path)
            except OSError:
                target.symlink_to(path.resolve())
        started = time.perf_counter()
        summary = load_landing(only_csv, Path(tmp) / "ingest.duckdb")
        ingest = time.perf_counter() - started
        started = time.perf_counter()
        with duckdb.connect(str(Path(tmp) / "bare.duckdb")) as con:
            for i, path in enumerate(files):
                con.execute(
                    f"create table t{i} as select * from read_csv(?, all_varchar = true, "
                    "header = false, null_padding = true, ignore_errors = true)",
                    [str(path)],
                )
        bare = time.perf_counter() - started
    rows = summary.rows_loaded() + summary.rows_quarantined()
    return {"files": len(files), "rows": rows, "ingest_s": ingest, "bare_s": bare}


def print_csv_against_bare(figures: dict[str, float]) -> None:
    f = figures
    print(
        f"ingest vs bare DuckDB read_csv, {f['files']} CSV files, {f['rows']:,} rows: "
        f"ingest {f['ingest_s']:.1f} s ({f['rows'] / f['ingest_s']:,.0f} rows/s), "
        f"bare {f['bare_s']:.1f} s: ratio {f['bare_s'] / f['ingest_s']:.2f} (target >= 0.8)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.ingest.bench")
    parser.add_argument("--landing", type=Path, help="landing folder to load")
    parser.add_argument("--synthetic", type=int, metavar="ROWS", help="write a landing first")
    parser.add_argument("--db", type=Path, help="database (default: a fresh temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="eduaid_bench_") as tmp:
        landing = args.landing
        if args.synthetic:
            landing = Path(tmp) / "landing"
            started = time.perf_counter()
            write_synthetic(landing, args.synthetic)
            print(f"wrote synthetic landing in {time.perf_counter() - started:.1f} s")
        if landing is None:
            parser.error("give --landing DIR or --synthetic ROWS")
        db = args.db or Path(tmp) / "bench.duckdb"
        summary = load_landing(landing, db)
        by_format: dict[str, list] = defaultdict(lambda: [0, 0, 0.0])
        for f in summary.files:
            fmt = f.file_format or f.status  # already_loaded: the same bytes again
            by_format[fmt][0] += 1
            by_format[fmt][1] += f.rows_read
            by_format[fmt][2] += f.seconds
        rows = summary.rows_loaded() + summary.rows_quarantined()
        print(
            f"files {len(summary.files)} (rejected {len(summary.by_status('rejected'))}), "
            f"rows read {rows:,} (quarantined {summary.rows_quarantined():,}), "
            f"{summary.seconds:.2f} s"
        )
        for fmt, (files, fmt_rows, secs) in sorted(by_format.items()):
            rate = fmt_rows / secs if secs else 0
            print(f"  {fmt}: {files} files, {fmt_rows:,} rows, {secs:.2f} s, {rate:,.0f} rows/s")
        print(f"rows/second: {rows / summary.seconds:,.0f}")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory {peak_mb:,.0f} MB (this process, DuckDB included)")
        if any(landing.rglob("*.csv")):
            print_csv_against_bare(csv_against_bare_duckdb(landing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
