"""The term report as a person opens it: the written HTML file in real headless Chromium
(Debian's, installed by `make browser` when absent). The page renders (the screenshot is
not blank and shows the colours of the three charts' bars and lines), the browser logs no
console message, and the DOM it built holds the three charts as SVG with Chinese text. The
same page printed to PDF by the report's own converter is a PDF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from browser import CHROMIUM_FLAGS, colours, find_or_install_chromium
from PIL import Image

from orchestration.reports import term_report
from orchestration.reports.term_report import write_term_reports
from reports.term_report_helpers import make_analytics_db

pytestmark = pytest.mark.slow

WIDTH, HEIGHT = 1100, 4200  # the whole page of the hand-made marts
CHART_COLOURS = {
    "coverage bars": (0x2F, 0x6D, 0xB5),
    "new findings": (0xD9, 0x82, 0x2B),
    "carried-over findings": (0x8C, 0x5A, 0x2B),
    "the first line of the rates": (0x1F, 0x77, 0xB4),  # matplotlib's first colour
}


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_or_install_chromium()


@pytest.fixture(scope="module")
def page(tmp_path_factory, chromium) -> Path:
    root = tmp_path_factory.mktemp("term_report_browser")
    db = make_analytics_db(root / "analytics.duckdb")
    write_term_reports(db, root / "term_report", pdf=True)
    return root / "term_report" / "2021-autumn.html"


def browse(chromium: str, page: Path, *args: str) -> subprocess.CompletedProcess:
    profile = page.parent.parent / "profile"
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
         "--enable-logging=stderr", "--v=0", *args, page.as_uri()],
        capture_output=True, timeout=180, check=True,
    )  # fmt: skip


def console_messages(stderr: bytes) -> list[str]:
    """The page's console messages as Chromium logs them: `...:CONSOLE(line)] "text"...`."""
    return [line for line in stderr.decode("utf-8", "replace").splitlines() if ":CONSOLE" in line]


def test_the_page_renders_its_charts_without_console_messages(chromium, page):
    shot = page.with_suffix(".png")
    done = browse(chromium, page, f"--screenshot={shot}")
    assert console_messages(done.stderr) == []
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    pixels = image.tobytes()
    assert len(colours(WIDTH, HEIGHT, pixels)) > 20, "the screenshot is blank"
    seen = set(colours(WIDTH, HEIGHT, pixels, every=1))
    for chart, rgb in CHART_COLOURS.items():
        assert bytes(rgb) in seen, f"{chart} not drawn"


def test_the_dom_holds_three_svg_charts_with_chinese_text(chromium, page):
    dom = browse(chromium, page, "--dump-dom").stdout.decode("utf-8")
    assert dom.count("<svg") == 3
    for chart in ("coverage", "rates", "findings"):
        assert f'id="chart-{chart}"' in dom
    for label in (
        "各乡镇资助覆盖率",
        "辍学率（%）",
        "巩固率（%）",
        "城关镇",
        "应助未助",
        "本学期新增",
    ):
        assert f">{label}</text>" in dom, label


def test_a_console_error_would_be_seen(chromium, page, tmp_path):
    """The console check can fail: the same page with a script that logs an error."""
    broken = tmp_path / "broken.html"
    broken.write_text(
        page.read_text("utf-8").replace("</body>", "<script>console.error('坏了')</script></body>"),
        encoding="utf-8",
    )
    done = browse(chromium, broken, f"--screenshot={tmp_path / 'broken.png'}")
    (message,) = console_messages(done.stderr)
    assert '"坏了"' in message


def test_the_pdf_is_printed_beside_the_page(page):
    pdf = page.with_suffix(".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 10_000
    assert 'href="2021-autumn.pdf"' in (page.parent / "index.html").read_text("utf-8")
    assert term_report.find_chromium()  # PDFs are written only where Chromium is on PATH
