"""The Dagster UI as an engineer opens it: the real webserver on localhost, looked at in a
real headless browser (Debian's Chromium, installed by the project's own setup when absent:
`make browser`). The job page of `eduaid_pipeline` renders its asset graph: the screenshot
is not blank and names the pipeline; the Lineage page names every asset group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import CHROMIUM_FLAGS as BROWSER_FLAGS
from browser import colours, find_or_install_chromium, png_pixels

from orchestration.pipeline.instance import ensure_dagster_home
from orchestration.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = [*BROWSER_FLAGS, "--window-size=2400,1200", "--virtual-time-budget=25000"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_or_install_chromium()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    env = {
        **os.environ,
        "EDUAID_LANDING": str(root / "landing"),
        "EDUAID_WAREHOUSE": str(root / "warehouse"),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    ensure_dagster_home(get_settings(env))
    port = _free_port()
    log = open(root / "webserver.log", "w")  # noqa: SIM115  closed below
    process = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-m", "orchestration.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (root / "webserver.log").read_text()[-2000:]
            assert process.poll() is None, (root / "webserver.log").read_text()[-2000:]
            time.sleep(1)
        yield url, root
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _browse(chromium: str, root: Path, *args: str) -> subprocess.CompletedProcess:
    profile = root / "profile"
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, timeout=180, check=True,
    )  # fmt: skip


def _screenshot_is_not_blank(chromium: str, root: Path, page: str, name: str) -> None:
    shot = root / f"{name}.png"
    _browse(chromium, root, f"--screenshot={shot}", page)
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (2400, 1200)
    assert len(colours(width, height, pixels)) > 20, f"the screenshot of {page} is blank"


def _dom(chromium: str, root: Path, page: str) -> str:
    return _browse(chromium, root, "--dump-dom", page).stdout.decode("utf-8", "replace")


def test_the_job_page_shows_the_pipeline(chromium, webserver):
    url, root = webserver
    page = f"{url}/locations/orchestration.definitions/jobs/eduaid_pipeline"
    _screenshot_is_not_blank(chromium, root, page, "eduaid_pipeline")
    dom = _dom(chromium, root, page)
    assert "eduaid_pipeline" in dom
    # the instance's dagster.yaml turns the "join the community" dialog off: nothing covers
    # the graph (the graph lays out left to right; its first groups are in view)
    assert "Join the Dagster community" not in dom
    for group in ("raw", "staging"):
        assert f">{group}<" in dom, group


def test_the_lineage_page_shows_every_asset_group(chromium, webserver):
    """The global asset graph (the UI's Lineage page) has no side panel: every group of the
    pipeline is laid out in view, from the raw exports to the published files."""
    url, root = webserver
    page = f"{url}/asset-groups"
    _screenshot_is_not_blank(chromium, root, page, "lineage")
    dom = _dom(chromium, root, page)
    for group in ("raw", "reference", "staging", "intermediate", "marts", "restricted", "publish"):
        assert f">{group}<" in dom, group
