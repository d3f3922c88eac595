"""The term report's HTML: one self-contained Chinese page per term (inline CSS and SVG
charts, nothing loaded from the network) and the index of the terms. Pure: no I/O.

Each figure's cell carries `data-figure="<query>:<row>:<column>"` (the query of
`term_report_queries.QUERIES` it comes from), so that tests, and anyone, can read the
numbers back from the page people read.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from orchestration.reports.term_report_charts import coverage_chart, findings_chart, rates_chart
from orchestration.reports.term_report_format import (
    Program,
    fmt_count,
    fmt_pct,
    fmt_wan,
    in_seed_order,
)
from orchestration.reports.term_report_queries import ALL, QUERIES, TermFigures
from orchestration.reports.workbook import BEIJING, severity_label, term_label, term_order

VARIANT_CN = {
    "default": "默认口径：学年初在读人数和辍学人数均不含死亡、转出学生",
    "lianji": "两基口径：死亡、转出学生计入学年初在读人数",
}
CONSOLIDATION_VARIANT_CN = {
    "annual": "年度口径：巩固率 = 1 − 辍学率（小学、初中）",
    "cohort": "届别口径：本届毕业生 / 本届入学生（按转入转出和死亡调整）",
}


def recipients_word(program_code: str) -> str:
    return "受助幼儿" if program_code == "PRE_AID" else "受助学生"


# --- the page -----------------------------------------------------------------------

CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", SimHei, sans-serif;
       margin: 2em auto; max-width: 60em; color: #222; line-height: 1.6; padding: 0 1em; }
h1 { font-size: 1.6em; text-align: center; margin-bottom: .2em; }
.meta { text-align: center; color: #666; font-size: .9em; }
h2 { font-size: 1.2em; border-bottom: 2px solid #2f6db5; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #bbb; padding: .25em .6em; }
th { background: #e8eef7; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; border-top: 2px solid #666; }
.lead { text-indent: 2em; }
.note { color: #555; font-size: .88em; }
figure { margin: 1em 0; }
svg.chart { max-width: 100%; height: auto; }
@media print {
  body { margin: 0; max-width: none; font-size: 10.5pt; }
  h2 { break-after: avoid; }
  table, figure { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
@page { size: A4; margin: 18mm 15mm; }
"""


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def _cell(figure: str, text: str) -> str:
    return f'<td class="n" data-figure="{_esc(figure)}">{_esc(text)}</td>'


def _row(cells: Sequence[str], total: bool = False) -> str:
    opening = '<tr class="total">' if total else "<tr>"
    return opening + "".join(cells) + "</tr>"


def _header(*names: str) -> str:
    return "<tr>" + "".join(f"<th>{_esc(n)}</th>" for n in names) + "</tr>"


class Column(NamedTuple):
    """A figure column of a table: its name in `data-figure`, how it is shown, and the
    query's column it shows (`source`, when the name differs: yuan shown as 万元)."""

    name: str
    fmt: Callable[[object], str]
    source: str | None = None


FUNDS_COLUMNS = (
    Column("net_wan_yuan", fmt_wan, "net_yuan"),
    Column("person_times", fmt_count),
    Column("persons", fmt_count),
)
COVERAGE_COLUMNS = (
    Column("entitled", fmt_count),
    Column("fully_covered", fmt_count),
    Column("coverage_rate", fmt_pct),
)
HARDSHIP_COLUMNS = (
    Column("enrolled", fmt_count),
    Column("dropouts", fmt_count),
    Column("dropout_rate", fmt_pct),
)
DROPOUT_COLUMNS = (*HARDSHIP_COLUMNS, Column("consolidation_rate", fmt_pct))
OUT_OF_SCHOOL_COLUMNS = (Column("children", fmt_count), Column("hardship_children", fmt_count))
FINDINGS_COLUMNS = (
    Column("findings", fmt_count),
    Column("new", fmt_count),
    Column("carried_over", fmt_count),
    Column("amount_wan_yuan", fmt_wan, "amount_yuan"),
)


def _figure_row(
    labels: str,
    query: str,
    key: str,
    row: dict,
    columns: Sequence[Column],
    *,
    total: bool = False,
    after: str = "",
) -> str:
    """One table row: its label cells, then a cell per column carrying
    `data-figure="<query>:<key>:<column>"` (the total row of a table has key `total`)."""
    cells = [_cell(f"{query}:{key}:{c.name}", c.fmt(row.get(c.source or c.name))) for c in columns]
    return _row([labels, *cells, after], total=total)


def _total_row(labels: str, query: str, row: dict, columns: Sequence[Column]) -> str:
    return _figure_row(labels, query, "total", row, columns, total=True)


def _by(figures: TermFigures, query: str, key: str) -> dict:
    """The rows of a grouping-sets query by their key (None: the grand total)."""
    return {r[key]: r for r in figures.rows[query]}


def _programmes(
    figures: TermFigures, programs: Sequence[Program]
) -> tuple[dict, dict[str, str], list[str]]:
    """funds_by_program by programme code, the programmes' names and every code to show
    (the seed's, then any other the marts hold)."""
    funds = _by(figures, "funds_by_program", "program_code")
    names = {p.code: p.name for p in programs}
    return funds, names, in_seed_order([p.code for p in programs], funds)


def _county_coverage(figures: TermFigures) -> dict:
    rows = figures.rows["coverage"]
    return next((r for r in rows if r["township"] is None and r["stage"] is None), {})


def _stage_rank(stage_names: dict[str, str], stage: str | None) -> int:
    """The stage's place in the seed `stages.csv` (an unknown stage last)."""
    order = list(stage_names)
    return order.index(stage) if stage in order else 99


def _chart(chart: str | None) -> list[str]:
    return [f"<figure>{chart}</figure>"] if chart else []


# --- the sections of the page, in order; each returns its HTML ------------------------


def summary_section(figures: TermFigures, programs: Sequence[Program]) -> str:
    """一、总体情况: the term's funds in total and per programme paid, coverage, leads and
    out-of-school children, in sentences."""
    term = term_label(figures.term_code)
    place = figures.county or "全县"
    funds, names, codes = _programmes(figures, programs)
    total = funds.get(None, {})
    paid = [c for c in codes if c in funds and funds[c]["person_times"]]
    summary = (
        f"{term}，{place}共落实各学段学生资助资金 "
        f'<b data-figure="funds_by_program:total:net_wan_yuan">{fmt_wan(total.get("net_yuan"))}'
        f"</b> 万元，惠及学生 "
        f'<b data-figure="funds_by_program:total:persons">{fmt_count(total.get("persons"))}</b>'
        f' 人、<b data-figure="funds_by_program:total:person_times">'
        f"{fmt_count(total.get('person_times'))}</b> 人次。"
    )
    items = []
    for n, code in enumerate(paid, start=1):
        r = funds[code]
        verb = "办理" if code == "LOAN" else "发放"
        items.append(
            f"{n}. {verb}{_esc(names.get(code, code))} {fmt_wan(r['net_yuan'])} 万元，"
            f"{recipients_word(code)} {fmt_count(r['persons'])} 人"
            f"（{fmt_count(r['person_times'])} 人次）"
        )
    narrative = "；".join(items) + ("。" if items else "")

    county_cov = _county_coverage(figures)
    oos_total = figures.total("out_of_school", "township")
    f_total = _by(figures, "findings", "finding_type").get(None, {})
    closing = (
        f"应享受资助的家庭经济困难学生 {fmt_count(county_cov.get('entitled'))} 人，"
        f"全部落实 {fmt_count(county_cov.get('fully_covered'))} 人，资助覆盖率 "
        f"{fmt_pct(county_cov.get('coverage_rate'))}。"
        f"大数据比对发现问题线索 {fmt_count(f_total.get('findings'))} 条（其中本学期新增 "
        f"{fmt_count(f_total.get('new'))} 条、上学期已报仍存在 "
        f"{fmt_count(f_total.get('carried_over'))} 条），待逐条核实。"
        f"控辍保学比对发现适龄儿童失学辍学 {fmt_count(oos_total.get('children'))} 人"
        f"（其中家庭经济困难 {fmt_count(oos_total.get('hardship_children'))} 人）。"
    )
    return "\n".join(
        [
            "<section id='summary'><h2>一、总体情况</h2>",
            f"<p class='lead'>{summary}{narrative}</p>",
            f"<p class='lead'>{closing}</p></section>",
        ]
    )


def funds_section(figures: TermFigures, programs: Sequence[Program]) -> str:
    """二、各项目资助资金发放情况: every programme of the seed (and any other paid), in 万元,
    人次 and 人, and the total."""
    funds, names, codes = _programmes(figures, programs)
    lines = [
        "<section id='funds'><h2>二、各项目资助资金发放情况</h2>",
        "<p class='note'>按资助项目标准表顺序；金额为发放明细合计，已扣除退回（负数行），"
        "单位万元，保留两位小数；人次 = 发放笔数减退回笔数；人数按身份证号去重，"
        "只计净发放额大于零的学生。</p><table>",
        _header("序号", "资助项目", "代码", "资金（万元）", "人次", "人数"),
    ]
    for n, code in enumerate(codes, start=1):
        labels = f"<td>{n}</td><td>{_esc(names.get(code, '未识别项目'))}</td><td>{_esc(code)}</td>"
        lines.append(
            _figure_row(labels, "funds_by_program", code, funds.get(code, {}), FUNDS_COLUMNS)
        )
    lines += [
        _total_row(
            "<td colspan=3>合计</td>", "funds_by_program", funds.get(None, {}), FUNDS_COLUMNS
        ),
        "</table><p class='note'>合计人数为在任一项目获得资助的学生人数"
        "（同一学生获多项资助只计一人）；"
        "生源地信用助学贷款、高校新生入学资助为申请制项目，计入资金合计。</p></section>",
    ]
    return "\n".join(lines)


def coverage_section(
    figures: TermFigures, stage_names: dict[str, str], *, with_charts: bool
) -> str:
    """三、资助覆盖率: by township and stage, township subtotals and the county, with a bar
    chart by township."""
    coverage = figures.rows["coverage"]
    lines = [
        "<section id='coverage'><h2>三、资助覆盖率（应助尽助）</h2>",
        "<p class='note'>资助覆盖率 = 全部应享项目均已发放（净额大于零）的学生 / "
        "应享受资助的在读家庭经济困难学生；按学校所在乡镇和学段统计。</p>",
    ]
    if with_charts:
        lines += _chart(coverage_chart(coverage))
    rows = sorted(
        (r for r in coverage if r["township"] is not None),
        key=lambda r: (r["township"], r["stage"] is None, _stage_rank(stage_names, r["stage"])),
    )
    lines += ["<table>", _header("乡镇", "学段", "应助学生", "全部落实", "资助覆盖率")]
    for r in rows:
        stage = "小计" if r["stage"] is None else stage_names.get(r["stage"], r["stage"])
        labels = f"<td>{_esc(r['township'])}</td><td>{_esc(stage)}</td>"
        key = f"{r['township']}/{r['stage'] or ALL}"
        lines.append(
            _figure_row(labels, "coverage", key, r, COVERAGE_COLUMNS, total=r["stage"] is None)
        )
    lines += [
        _total_row(
            "<td colspan=2>全县合计</td>", "coverage", _county_coverage(figures), COVERAGE_COLUMNS
        ),
        "</table></section>",
    ]
    return "\n".join(lines)


def retention_section(
    figures: TermFigures, stage_names: dict[str, str], *, with_charts: bool
) -> str:
    """四、辍学率与巩固率: per school year up to the term's and stage, the variants named, a
    line chart, and hardship students' 辍学率 beside the others'."""
    rates = figures.rows["dropout_rates"]
    variants = sorted({r["variant"] for r in rates})
    c_variants = sorted({r["consolidation_rate_variant"] for r in rates})
    lines = [
        "<section id='retention'><h2>四、辍学率与巩固率"
        f"（{_esc(figures.school_year)} 学年及以前）</h2>",
        "<p class='note'>辍学率 = 学年内辍学学生 / 学年初在读学生。"
        + "".join(
            f'辍学率口径 <span data-figure="dropout_rates:variant">{_esc(v)}</span>'
            f"（{_esc(VARIANT_CN.get(v, v))}）。"
            for v in variants
        )
        + "".join(
            f'巩固率口径 <span data-figure="dropout_rates:consolidation_rate_variant">{_esc(v)}'
            f"</span>（{_esc(CONSOLIDATION_VARIANT_CN.get(v, v))}）。"
            for v in c_variants
        )
        + "标注“未完整”的学年尚无下一秋季学期学籍，只计秋季到春季的变动。</p>",
    ]
    if with_charts:
        lines += _chart(rates_chart(rates, stage_names))
    lines += [
        "<table>",
        _header("学年", "学段", "学年初在读", "辍学", "辍学率", "巩固率", "备注"),
    ]
    for r in sorted(rates, key=lambda r: (r["school_year"], _stage_rank(stage_names, r["stage"]))):
        stage = "全部学段" if r["stage"] == ALL else stage_names.get(r["stage"], r["stage"])
        labels = f"<td>{_esc(r['school_year'])}</td><td>{_esc(stage)}</td>"
        key = f"{r['school_year']}/{r['stage']}"
        partial = f"<td>{'未完整' if r['is_partial_year'] else ''}</td>"
        total = r["stage"] == ALL
        row = _figure_row(
            labels, "dropout_rates", key, r, DROPOUT_COLUMNS, total=total, after=partial
        )
        lines.append(row)
    lines.append("</table>")
    hardship = figures.rows["hardship_dropout_rates"]
    if hardship:
        lines += [
            f"<p>{_esc(figures.school_year)} 学年家庭经济困难学生与其他学生的辍学率"
            "（全部学段）：</p>",
            "<table>",
            _header("学生", "学年初在读", "辍学", "辍学率"),
        ]
        for r in hardship:
            key = "hardship" if r["is_hardship"] else "other"
            label = "家庭经济困难学生" if r["is_hardship"] else "其他学生"
            lines.append(
                _figure_row(f"<td>{label}</td>", "hardship_dropout_rates", key, r, HARDSHIP_COLUMNS)
            )
        lines.append("</table>")
    lines.append("</section>")
    return "\n".join(lines)


def out_of_school_section(figures: TermFigures) -> str:
    """五、控辍保学: out-of-school children of compulsory age by township and in total."""
    rows = sorted(
        (r for r in figures.rows["out_of_school"] if r["township"] is not None),
        key=lambda r: r["township"],
    )
    lines = [
        "<section id='out-of-school'><h2>五、控辍保学：适龄儿童失学辍学情况</h2>",
        "<p class='note'>人口库中义务教育适龄（6—15 周岁）、状态正常的儿童，与学籍比对未在读，"
        "且台账未登记县外就读、送教上门、延缓入学或休学的，按户籍所在乡镇统计，请乡镇逐一核查劝返。</p>",
        "<table>",
        _header("乡镇", "失学辍学儿童", "其中家庭经济困难"),
    ]
    for r in rows:
        labels = f"<td>{_esc(r['township'])}</td>"
        lines.append(_figure_row(labels, "out_of_school", r["township"], r, OUT_OF_SCHOOL_COLUMNS))
    lines += [
        _total_row(
            "<td>合计</td>",
            "out_of_school",
            figures.total("out_of_school", "township"),
            OUT_OF_SCHOOL_COLUMNS,
        ),
        "</table></section>",
    ]
    return "\n".join(lines)


def findings_section(figures: TermFigures, finding_types: Sequence, *, with_charts: bool) -> str:
    """六、大数据比对问题线索: leads by type (order of the seed `finding_types.csv`), new and
    carried over from the term before, the amounts involved, with a chart."""
    findings = _by(figures, "findings", "finding_type")
    type_codes = in_seed_order([t.code for t in finding_types], findings)
    type_names = {t.code: t.name_cn for t in finding_types}
    severities = {t.code: t.severity for t in finding_types}
    lines = [
        "<section id='findings'><h2>六、大数据比对问题线索</h2>",
        "<p class='note'>问题线索须逐条核实后方可定性，并非审计认定结论。"
        "同一学生同一学期同一类型只计一条。"
        "“上学期已报、仍存在”指上一学期已作为同类线索报告的同一学生本学期再次出现（尚未整改）；"
        "其余为本学期新增。数据仓库不记录核实结果，查实、整改情况以审计人员的核查为准。"
        "线索明细见审计问题线索工作簿（限审计人员）。</p>",
    ]
    if with_charts:
        lines += _chart(findings_chart(figures.rows["findings"], type_codes, type_names))
    lines += [
        "<table>",
        _header(
            "问题类型", "严重程度", "线索数", "本学期新增", "上学期已报、仍存在", "涉及金额（万元）"
        ),
    ]
    for code in type_codes:
        labels = (
            f"<td>{_esc(type_names.get(code, code))}</td>"
            f"<td>{_esc(severity_label(severities.get(code)))}</td>"
        )
        lines.append(
            _figure_row(labels, "findings", code, findings.get(code, {}), FINDINGS_COLUMNS)
        )
    lines += [
        _total_row("<td colspan=2>合计</td>", "findings", findings.get(None, {}), FINDINGS_COLUMNS),
        "</table></section>",
    ]
    return "\n".join(lines)


def sources_section() -> str:
    """附：数据来源: the named queries every figure comes from."""
    return (
        "<section id='sources'><h2>附：数据来源</h2>"
        "<p class='note'>本报告每个数字均由已发布的分析库 "
        "analytics.duckdb（marts 模式）中的一条查询得出，查询及其说明见 "
        "orchestration/reports/term_report.py 的 QUERIES："
        + "、".join(_esc(n) for n in QUERIES)
        + "。</p></section>"
    )


VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def _page(title: str, meta: str, body: str, generated_at: datetime, *, viewport: bool) -> str:
    """A whole page: the title as <title> and <h1>, a line of `meta` and when it was made,
    then `body`. (The index has never had the viewport line; it is kept as it was.)"""
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        + (VIEWPORT if viewport else "")
        + f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{_esc(title)}</h1>"
        f"<p class='meta'>{meta}生成时间 {generated_at.astimezone(BEIJING):%Y-%m-%d %H:%M}"
        "（北京时间）</p>" + body + "</body></html>\n"
    )


def render_term_report(
    figures: TermFigures,
    programs: Sequence[Program],
    finding_types: Sequence,
    stage_names: dict[str, str],
    *,
    generated_at: datetime,
    with_charts: bool = True,
) -> str:
    """The report of one term as a self-contained HTML page (pure: no I/O)."""
    sections = [
        summary_section(figures, programs),
        funds_section(figures, programs),
        coverage_section(figures, stage_names, with_charts=with_charts),
        retention_section(figures, stage_names, with_charts=with_charts),
        out_of_school_section(figures),
        findings_section(figures, finding_types, with_charts=with_charts),
        sources_section(),
    ]
    title = f"{figures.county or '全县'}{term_label(figures.term_code)}学生资助工作统计报告"
    meta = f"学期代码 <span id='term-code'>{_esc(figures.term_code)}</span>　"
    return _page(title, meta, "\n".join(sections), generated_at, viewport=True)


def render_index(terms: Sequence[dict], pdfs: set[str], generated_at: datetime) -> str:
    """The index of the term reports, the latest term first, with its PDF where written."""
    rows = []
    for t in sorted(terms, key=lambda t: term_order(t["term_code"]), reverse=True):
        code = t["term_code"]
        pdf = f' · <a href="{_esc(code)}.pdf">PDF</a>' if code in pdfs else ""
        rows.append(
            f'<li><a href="{_esc(code)}.html">{_esc(term_label(code))}</a>'
            f"（{_esc(t['school_year'])} 学年）{pdf}</li>"
        )
    body = "<ul>" + "".join(rows) + "</ul>"
    return _page("学生资助工作统计报告", "", body, generated_at, viewport=False)
