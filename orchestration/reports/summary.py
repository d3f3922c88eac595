"""The run summary for a person, in Chinese: `<warehouse>/reports/run_summary.md`.

What was loaded and quarantined (the load manifest), what was checked (this run's
results in the results history), whether it was published or blocked and why, the
headline indicators of what analysts now see (from the published analytics.duckdb,
only when this run published), and where the reports are. Each run's summary is also
kept as `reports/runs/<run_id>.md`.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.ingest.loader import SOURCE_NAMES_CN
from orchestration.quality.gate import gate_of_run, reports_dir
from orchestration.quality.history import PUBLISHED, History
from orchestration.quality.runner import CheckResult, RunDocs, describe
from orchestration.reports.term_report import TERM_REPORT_DIR
from orchestration.reports.workbook import WORKBOOK, severity_label, term_label, term_order
from orchestration.settings import Settings

SUMMARY = "run_summary.md"
SOURCE_NAMES = SOURCE_NAMES_CN


def write_run_summary(settings: Settings, run_id: str) -> Path:
    text = run_summary(settings, run_id)
    reports = reports_dir(settings)
    (reports / "runs").mkdir(parents=True, exist_ok=True)
    (reports / "runs" / f"{run_id}.md").write_text(text, encoding="utf-8")
    target = reports / SUMMARY
    tmp = target.with_name(f".{SUMMARY}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target


def run_summary(settings: Settings, run_id: str) -> str:
    history = History(reports_dir(settings))
    outcome, reasons = history.outcome(run_id)
    recorded = history.results_of(run_id)
    lines = [f"# eduaid 运行摘要（运行 {run_id}）", ""]
    lines += _loaded(settings.build_db)
    lines += _checked(settings, run_id, recorded)
    lines += _published(settings, outcome, reasons)
    if outcome == PUBLISHED:
        lines += _indicators(settings.warehouse / "analytics.duckdb")
    lines += _where(settings, run_id)
    return "\n".join(lines) + "\n"


# Files listed by name per kind; more are counted (raw.load_manifest has them all).
LISTED_FILES = 50
QUARANTINE_EXAMPLES = 3
QUARANTINE_NOTE = " 行已隔离（"  # the loader's warning that counts a file's quarantined rows
# the loader's note that an instructions sheet was not read: the contract's rule, not a problem
INSTRUCTIONS_SKIPPED = "已跳过：说明页"
# The files in the landing folder now: those of each source's latest sighting (the files
# the gate's load_manifest checks judge), so that a file removed since is not listed.
_IN_LANDING = """
    file_sha256 in (
        select file_sha256 from raw.file_sightings as s
        qualify last_seen_at = max(last_seen_at) over (partition by source)
    )"""


def _loaded(build_db: Path) -> list[str]:
    lines = ["## 一、数据接收", ""]
    if not Path(build_db).exists():
        return [*lines, "本次运行没有构建数据库，未接收任何文件。", ""]
    with duckdb.connect(str(build_db), read_only=True) as con:
        rows = con.execute("""
            select source, count(*), count(*) filter (where status = 'loaded'),
                   count(*) filter (where status = 'rejected'),
                   coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
                   coalesce(sum(rows_quarantined), 0),
                   count(*) filter (where is_total_reconciled = false)
            from raw.load_manifest group by source order by source
        """).fetchall()
        files = file_problems(con)
    lines += [
        "| 数据来源 | 文件数 | 已入库文件 | 拒收文件 | 读取行数 | 入库行数 | 隔离行数 "
        "| 合计数不符文件 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for source, n_files, loaded, rej, read, loaded_rows, quar, unrec in rows:
        name = SOURCE_NAMES.get(source, source)
        lines.append(
            f"| {name}（{source}） | {n_files} | {loaded} | {rej} | {read:,} | {loaded_rows:,} "
            f"| {quar:,} | {unrec} |"
        )
    lines.append("")
    rejected = [f for f in files if f.status == "rejected"]
    flagged = [f for f in files if f.status != "rejected"]
    if rejected:
        lines += ["拒收的文件（整个文件未入库，须改正后重新提交）：", ""]
        lines += [f"- 拒收 {f.where}：{_one_line(f.error)}" for f in rejected[:LISTED_FILES]]
        lines += _more(len(rejected))
    if flagged:
        lines += [
            "已入库但须核对的文件（合计数不符、有隔离行或有提示；隔离行连同原文保存在 "
            "raw.quarantine）：",
            "",
        ]
        for f in flagged[:LISTED_FILES]:
            lines.append(f"- {f.where}：{f.counts()}")
            # the count of quarantined rows is on the line above, their examples below
            lines += [f"  - {_one_line(w)}" for w in f.warnings if QUARANTINE_NOTE not in w]
            lines += [f"  - 隔离 第{row}行：{_one_line(reason)}" for row, reason in f.quarantined]
        lines += _more(len(flagged))
    return lines


@dataclass
class FileProblem:
    """A file in the landing folder that was rejected, or loaded with something to check."""

    source: str
    file_name: str
    status: str
    error: str | None
    rows_read: int
    rows_quarantined: int
    is_total_reconciled: bool | None
    warnings: list[str]
    quarantined: list[tuple[int, str]]  # (row, reason) of the first quarantined rows

    @property
    def has_something_to_check(self) -> bool:
        return bool(self.rows_quarantined or self.is_total_reconciled is False or self.warnings)

    @property
    def where(self) -> str:
        return f"{SOURCE_NAMES.get(self.source, self.source)}/{self.file_name}"

    def counts(self) -> str:
        parts = [f"读取 {self.rows_read:,} 行"]
        if self.rows_quarantined:
            parts.append(f"隔离 {self.rows_quarantined:,} 行")
        if self.is_total_reconciled is False:
            parts.append("合计数不符")
        return "，".join(parts)


def file_problems(con: duckdb.DuckDBPyConnection) -> list[FileProblem]:
    """Rejected files, then loaded files with quarantined rows, an unreconciled total or
    warnings; of the landing folder now when the build database records sightings."""
    has_sightings = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name = 'file_sightings'"
    ).fetchone()[0]
    scope = f"and {_IN_LANDING}" if has_sightings else ""
    rows = con.execute(f"""
        select source, file_name, status, error, coalesce(rows_read, 0),
               coalesce(rows_quarantined, 0), is_total_reconciled, warnings, file_sha256
        from raw.load_manifest
        where (status <> 'loaded' or rows_quarantined > 0 or is_total_reconciled = false
               or warnings is not null)
            {scope}
        order by status = 'loaded', source, file_name
    """).fetchall()
    examples: dict[str, list[tuple[int, str]]] = {}
    quarantined = [r[8] for r in rows if r[5]]
    if quarantined:
        for sha, row, reason in con.execute(
            f"""select file_sha256, row_number, reason from raw.quarantine
            where file_sha256 in (select unnest(?::varchar[]))
            qualify row_number() over (partition by file_sha256 order by row_number)
                <= {QUARANTINE_EXAMPLES}
            order by file_sha256, row_number""",
            [quarantined],
        ).fetchall():
            examples.setdefault(sha, []).append((row, reason))
    problems = [
        FileProblem(
            source,
            name,
            status,
            error,
            read,
            quar,
            reconciled,
            [w for w in (warnings or "").split("; ") if w and INSTRUCTIONS_SKIPPED not in w],
            examples.get(sha, []),
        )
        for source, name, status, error, read, quar, reconciled, warnings, sha in rows
    ]
    return [p for p in problems if p.status != "loaded" or p.has_something_to_check]


def _more(listed: int) -> list[str]:
    if listed > LISTED_FILES:
        return [f"- ……另有 {listed - LISTED_FILES} 个文件，见 raw.load_manifest", ""]
    return [""]


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _checked(settings: Settings, run_id: str, recorded: dict[str, list[CheckResult]]) -> list[str]:
    gate = gate_of_run(settings, run_id)
    not_run = [name for name in gate if name not in recorded]
    results = [r for rs in recorded.values() for r in rs]
    decided = {
        d: [(name, r) for name, rs in recorded.items() for r in rs if r.decision == d]
        for d in ("passed", "blocked", "warned", "not_applicable")
    }
    lines = [
        "## 二、质量检查（Great Expectations）",
        "",
        f"已运行 {len(recorded)} 项检查、{len(results)} 条期望："
        f"通过 {len(decided['passed'])} 条，"
        f"严重失败 {len(decided['blocked'])} 条，警告 {len(decided['warned'])} 条，"
        f"不适用 {len(decided['not_applicable'])} 条"
        + (f"；{len(not_run)} 项检查未运行（上游已阻止或中断）" if not_run else "")
        + "。",
        "",
    ]
    for title, failed in (
        ("严重失败（阻止发布）", decided["blocked"]),
        ("警告（仅报告，不阻止发布）", decided["warned"]),
    ):
        if failed:
            lines.append(f"{title}：")
            lines += [f"- {name}：{describe(r)}" for name, r in failed]
            lines.append("")
    not_applicable: dict[tuple[str, str], int] = {}
    for name, r in decided["not_applicable"]:
        key = (name, (r.note or "").split(" / ")[0])
        not_applicable[key] = not_applicable.get(key, 0) + 1
    if not_applicable:
        lines.append("不适用（未判定，不是失败）：")
        lines += [f"- {name}（{n} 条）：{why}" for (name, why), n in not_applicable.items()]
        lines.append("")
    if not_run:
        lines += [f"未运行的检查：{'、'.join(not_run)}", ""]
    return lines


def _published(settings: Settings, outcome: str | None, reasons: Sequence[str]) -> list[str]:
    lines = ["## 三、发布", ""]
    if outcome == PUBLISHED:
        lines.append(
            f"已发布：{settings.warehouse / 'analytics.duckdb'}（分析库，假名化）和 "
            f"{settings.warehouse / 'audit.duckdb'}"
            "（审计库，含真实身份证号和姓名，限审计人员使用）。"
        )
    else:
        lines.append(
            "未发布：质量检查未通过，分析人员和审计人员继续使用上一次发布的数据（文件未改动）。"
        )
        lines += [f"- {reason}" for reason in reasons]
    return [*lines, ""]


def _indicators(analytics: Path) -> list[str]:
    lines = ["## 四、主要指标", ""]
    with duckdb.connect(str(analytics), read_only=True) as con:
        coverage = con.execute("""
            select term_code, sum(entitled_students), sum(fully_covered),
                   sum(fully_covered) / nullif(sum(entitled_students), 0)
            from marts.rpt_aid_coverage group by term_code
        """).fetchall()
        dropout = con.execute("""
            select school_year, stage, enrolled, dropouts, dropout_rate, consolidation_rate
            from marts.rpt_dropout_rates
            where is_default_variant and stage in ('primary', 'junior')
            order by school_year, stage
        """).fetchall()
        out_of_school = con.execute("""
            select term_code, count(*), count(*) filter (where is_hardship)
            from marts.fct_out_of_school_child group by term_code
        """).fetchall()
        findings = con.execute("""
            select finding_name_cn, severity, count(*) from marts.fct_audit_finding
            group by all order by min(severity_rank), count(*) desc
        """).fetchall()
    lines += ["资助覆盖率（应助尽助，全部应享项目均已发放的学生占比）：", ""]
    lines += ["| 学期 | 应助学生 | 全部覆盖 | 资助覆盖率 |", "|---|---:|---:|---:|"]
    lines += [
        f"| {term_label(t)} | {e:,} | {c:,} | {_pct(r)} |"
        for t, e, c, r in sorted(coverage, key=lambda row: term_order(row[0]))
    ]
    lines += ["", "义务教育辍学率与巩固率（默认口径）：", ""]
    lines += [
        "| 学年 | 学段 | 学年初在读 | 辍学 | 辍学率 | 巩固率 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    stage_cn = {"primary": "小学", "junior": "初中"}
    lines += [
        f"| {y} | {stage_cn.get(s, s)} | {e:,} | {d:,} | {_pct(r)} | {_pct(c)} |"
        for y, s, e, d, r, c in dropout
    ]
    lines += ["", "适龄儿童失学辍学（控辍保学比对）：", ""]
    lines += ["| 学期 | 失学辍学儿童 | 其中困难家庭 |", "|---|---:|---:|"]
    lines += [
        f"| {term_label(t)} | {n:,} | {h:,} |"
        for t, n, h in sorted(out_of_school, key=lambda row: term_order(row[0]))
    ]
    lines += ["", "大数据比对问题线索（待核实，非定论）：", ""]
    lines += ["| 问题类型 | 严重程度 | 线索数 |", "|---|---|---:|"]
    lines += [f"| {name} | {severity_label(sev)} | {n:,} |" for name, sev, n in findings]
    return [*lines, ""]


def _where(settings: Settings, run_id: str) -> list[str]:
    reports = reports_dir(settings)
    return [
        "## 五、报告位置",
        "",
        f"- 数据质量报告（Data Docs）：{RunDocs(reports, run_id).index}",
        f"- 历次验证结果：{reports / 'validation_results.duckdb'}（表 validation_result），"
        f"{reports / 'validation_results.csv'}",
        f"- 审计问题线索工作簿：{reports / WORKBOOK}（含真实身份信息，限审计人员）",
        f"- 各学期学生资助工作统计报告：{reports / TERM_REPORT_DIR / 'index.html'}"
        "（每学期一份 HTML，有 Chromium 时另附 PDF）",
        "",
    ]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def prune_run_docs(reports: Path, history: History, keep: int) -> list[str]:
    """Remove the Data Docs site and GX stores of every run but the newest `keep` (at
    least one: the run that just ended).

    The results table and each run's summary stay: they are small, and the history of
    every expectation is what auditors compare over time. Returns the runs pruned now.
    """
    pruned = []
    for run_id, *_ in history.runs()[max(keep, 1) :]:
        docs = RunDocs(reports, run_id)
        dirs = [d for d in (docs.site, docs.stores) if d.exists()]
        for d in dirs:
            shutil.rmtree(d)
        if dirs:
            pruned.append(run_id)
    return pruned


def write_reports_index(reports: Path, history: History) -> Path:
    """`reports/index.html`: every run, newest first, with its outcome and Data Docs."""
    rows = []
    for run_id, started_at, outcome, reasons in history.runs():
        docs = RunDocs(reports, run_id).index
        href = docs.relative_to(reports).as_posix()
        link = f'<a href="{html.escape(href)}">Data Docs</a>' if docs.exists() else ""
        label = {"published": "已发布", "blocked": "已阻止发布"}.get(outcome or "", "未完成")
        summary = reports / "runs" / f"{run_id}.md"
        summary_link = f'<a href="runs/{run_id}.md">运行摘要</a>' if summary.exists() else ""
        rows.append(
            f"<tr><td>{html.escape(str(started_at))}</td><td>{html.escape(run_id)}</td>"
            f"<td>{label}</td><td>{link}</td><td>{summary_link}</td>"
            f"<td>{html.escape(reasons or '')}</td></tr>"
        )
    term_index = reports / TERM_REPORT_DIR / "index.html"
    term_reports = (
        f'；<a href="{TERM_REPORT_DIR}/index.html">各学期学生资助工作统计报告</a>'
        if term_index.exists()
        else ""
    )
    target = reports / "index.html"
    target.write_text(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>eduaid 数据质量报告</title></head><body><h1>eduaid 数据质量报告</h1>"
        "<p>历次运行（最新在前）。验证结果明细：validation_results.duckdb / "
        f"validation_results.csv；问题线索工作簿：{WORKBOOK}（限审计人员）"
        + term_reports
        + "。</p>"
        "<table border=1 cellpadding=4><tr><th>开始时间 (UTC)</th><th>运行编号</th><th>结果</th>"
        "<th>数据质量报告</th><th>摘要</th><th>阻止原因</th></tr>"
        + "".join(rows)
        + "</table></body></html>\n",
        encoding="utf-8",
    )
    return target
