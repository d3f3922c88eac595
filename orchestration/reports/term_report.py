"""The term report (资助工作统计报告): one Chinese HTML page per term of the published marts.

`<warehouse>/reports/term_report/<term>.html` (and `<term>.pdf` beside it when Chromium is
on PATH), with `index.html` listing the terms. Each page reads like a county bureau's term
report: the funds of every programme in 万元 with 人次 and 人 (in the order of the seed
`aid_programs.csv`, the standards table's order, net of refunds), 资助覆盖率 by township
and stage, 辍学率 / 巩固率 over the school years with the variant named, out-of-school
children by township, and the audit leads by type with how many were already reported
the term before.

Every figure comes from the published `analytics.duckdb` through ONE of the named queries
in `QUERIES`, so that a reader can rerun it in duckdb (`python -m
orchestration.reports.term_report` prints them all); Python only orders rows (seed order),
converts yuan to 万元 and formats. The report is made in parts, one module each:

- `term_report_queries`: the named queries, running them, the figures of a term;
- `term_report_format`: the seeds' order, 万元, counts and percentages;
- `term_report_charts`: the matplotlib charts as inline SVG;
- `term_report_page`: the HTML, one function per section of the page, and the index;
- this module: writing the pages (under a temporary name, then replaced) and the PDFs.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.reports.term_report_format import read_programs, read_stage_names
from orchestration.reports.term_report_page import render_index, render_term_report
from orchestration.reports.term_report_queries import (
    QUERIES,
    missing_tables,
    read_term_figures,
    read_terms,
)
from orchestration.reports.workbook import BEIJING, read_finding_types

log = logging.getLogger(__name__)

TERM_REPORT_DIR = "term_report"  # under <warehouse>/reports/
PDF_TIMEOUT_SECONDS = 120
CHROMIUM_PDF_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)
# --- I/O ----------------------------------------------------------------------------


def write_atomically(target: Path, data: str | bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


PDF_WORKERS = 2


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def print_pdf(chromium: str, page: Path, target: Path) -> bool:
    """`page` printed to `target` by headless Chromium; False (and a log line) on failure."""
    tmp = target.with_name(f".{target.name}.tmp")
    profile = target.with_name(f".{target.stem}.chromium-profile")
    try:
        subprocess.run(
            [chromium, *CHROMIUM_PDF_FLAGS, f"--user-data-dir={profile}",
             f"--print-to-pdf={tmp}", page.resolve().as_uri()],
            capture_output=True, timeout=PDF_TIMEOUT_SECONDS, check=True,
        )  # fmt: skip
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise RuntimeError("Chromium wrote no PDF")
        os.replace(tmp, target)
        return True
    except (OSError, subprocess.SubprocessError, RuntimeError) as error:
        log.warning("term report: no PDF of %s (%s)", page.name, error)
        tmp.unlink(missing_ok=True)
        return False
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def write_term_reports(
    analytics_db: Path,
    target_dir: Path,
    *,
    pdf: bool = True,
    generated_at: datetime | None = None,
) -> list[Path]:
    """Write `<term>.html` for every term of `analytics_db` and `index.html` into
    `target_dir`, and `<term>.pdf` when `pdf` and Chromium is on PATH; return the HTML
    pages written (index last). A database without the marts the queries read (not a
    publish of this project) gets a warning and no report."""
    generated_at = generated_at or datetime.now(BEIJING)
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    programs, finding_types, stage_names = read_programs(), read_finding_types(), read_stage_names()
    with duckdb.connect(str(analytics_db), read_only=True) as con:
        missing = missing_tables(con)
        if missing:  # not a published warehouse of this project: nothing to report from
            log.warning("term report: not written, %s lacks %s", analytics_db, ", ".join(missing))
            return []
        terms = read_terms(con)
        figures = [read_term_figures(con, t["term_code"], t["school_year"]) for t in terms]
    written = []
    for f in figures:
        page = target_dir / f"{f.term_code}.html"
        write_atomically(
            page,
            render_term_report(f, programs, finding_types, stage_names, generated_at=generated_at),
        )
        written.append(page)
    pdfs: set[str] = set()
    chromium = find_chromium() if pdf else None
    if pdf and chromium is None:
        log.info("term report: no PDF converter available (Chromium not on PATH); HTML only")
    if chromium:
        # two at a time: each print is mostly Chromium starting up (its own profile each)
        with ThreadPoolExecutor(max_workers=PDF_WORKERS) as pool:
            printed = pool.map(
                lambda page: print_pdf(chromium, page, page.with_suffix(".pdf")), written
            )
            pdfs = {page.stem for page, ok in zip(written, printed, strict=True) if ok}
    index = target_dir / "index.html"
    write_atomically(index, render_index(terms, pdfs, generated_at))
    return [*written, index]


def main() -> None:
    """Print every query with what it counts, to paste into duckdb."""
    for name, query in QUERIES.items():
        print(f"-- {name}: {query.doc}\n{textwrap.dedent(query.sql).strip()};\n")


if __name__ == "__main__":
    main()
