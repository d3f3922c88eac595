"""The term report's charts: matplotlib (Agg backend) rendered to inline SVG with
`svg.fonttype = 'none'`, so that Chinese labels stay text that the browser draws with the
reader's fonts and the page loads nothing from the network. SVG ids are salted with the
chart's name, so that the same figures give the same page byte for byte.
"""

from __future__ import annotations

import io
import logging
import re
import warnings

from orchestration.reports.term_report_queries import ALL

CJK_FONTS = [
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "DejaVu Sans",
]


def _svg(fig, salt: str) -> str:
    """The figure as an <svg> element: text kept as text, ids unique per chart."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    with warnings.catch_warnings():  # glyphs missing from the fonts here: the browser draws them
        warnings.simplefilter("ignore")
        with plt.rc_context({"svg.hashsalt": f"eduaid-{salt}"}):
            fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    # the XML prologue goes, and the RDF metadata (names of vocabularies, nothing to show)
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg") :], flags=re.S)
    return svg.replace("<svg ", f'<svg role="img" class="chart" id="chart-{salt}" ', 1)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "font.family": "sans-serif",
            "font.sans-serif": CJK_FONTS,
            "axes.unicode_minus": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def coverage_chart(rows: list[dict]) -> str | None:
    townships = sorted(
        (r for r in rows if r["township"] is not None and r["stage"] is None),
        key=lambda r: r["township"],
    )
    if not townships:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(townships) + 1.2))
    names = [r["township"] for r in townships]
    rates = [float(r["coverage_rate"] or 0) * 100 for r in townships]
    bars = ax.barh(names, rates, color="#2f6db5")
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("资助覆盖率（%）")
    ax.set_title("各乡镇资助覆盖率")
    for bar, rate in zip(bars, rates, strict=True):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{rate:.1f}%",
                va="center", fontsize=8)  # fmt: skip
    return _svg(fig, "coverage")


def rates_chart(rows: list[dict], stage_names: dict[str, str]) -> str | None:
    stages = [s for s in ("primary", "junior", ALL) if any(r["stage"] == s for r in rows)]
    if not stages:
        return None
    years = sorted({r["school_year"] for r in rows})
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for stage in stages:
        by_year = {r["school_year"]: r for r in rows if r["stage"] == stage}
        label = "全部学段" if stage == ALL else stage_names.get(stage, stage)
        xs = [y for y in years if y in by_year]
        left.plot(xs, [float(by_year[y]["dropout_rate"] or 0) * 100 for y in xs],
                  marker="o", label=label)  # fmt: skip
        consolidated = [y for y in xs if by_year[y]["consolidation_rate"] is not None]
        if consolidated:
            right.plot(consolidated,
                       [float(by_year[y]["consolidation_rate"]) * 100 for y in consolidated],
                       marker="o", label=label)  # fmt: skip
    left.set_title("辍学率（%）")
    right.set_title("巩固率（%）")
    left.set_ylim(bottom=0, top=max([*left.get_ylim(), 1.0]))
    low = min([100.0, *(y for line in right.lines for y in line.get_ydata())])
    right.set_ylim(min(low - 0.5, 98.0), 100.2)
    for ax in (left, right):
        ax.set_xlabel("学年")
        ax.tick_params(axis="x", labelrotation=30)
        if ax.lines:
            ax.legend(fontsize=8)
    return _svg(fig, "rates")


def findings_chart(rows: list[dict], types: list, names: dict[str, str]) -> str | None:
    by_type = {r["finding_type"]: r for r in rows if r["finding_type"] is not None}
    if not by_type:
        return None
    codes = [c for c in types if c in by_type]
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(codes) + 1.2))
    labels = [names.get(c, c) for c in codes]
    new = [int(by_type[c]["new"]) for c in codes]
    carried = [int(by_type[c]["carried_over"]) for c in codes]
    ax.barh(labels, new, color="#d9822b", label="本学期新增")
    ax.barh(labels, carried, left=new, color="#8c5a2b", label="上学期已报、仍存在")
    for y, (n, c) in enumerate(zip(new, carried, strict=True)):
        ax.text(n + c, y, f" {n + c:,}", va="center", fontsize=8)  # small counts stay legible
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("线索数（条）")
    ax.set_title("大数据比对问题线索（按类型）")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    return _svg(fig, "findings")
