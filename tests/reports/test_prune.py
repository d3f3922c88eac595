"""Only the newest runs keep their Data Docs site; the results history keeps every run."""

from __future__ import annotations

from orchestration.quality.history import BLOCKED, History
from orchestration.run import conclude
from orchestration.settings import get_settings


def test_a_run_ending_keeps_the_docs_of_the_newest_runs_only(tmp_path):
    settings = get_settings(
        {"EDUAID_WAREHOUSE": str(tmp_path / "warehouse"), "EDUAID_KEEP_RUN_DOCS": "2"}
    )
    reports = settings.warehouse / "reports"
    history = History(reports)
    for run_id in ["run-a", "run-b", "run-c", "run-d"]:  # oldest first
        history.finish(run_id, BLOCKED, ["planted"])
        for store in ("data_docs", "gx_results"):
            (reports / store / run_id).mkdir(parents=True)
            (reports / store / run_id / "index.html").write_text(run_id)

    assert conclude(settings, "run-d", success=False) == 2

    for store in ("data_docs", "gx_results"):
        assert sorted(p.name for p in (reports / store).iterdir()) == ["run-c", "run-d"]
    # the history and the index still list every run; only the kept ones link a site
    assert [r[0] for r in history.runs()] == ["run-d", "run-c", "run-b", "run-a"]
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "data_docs/run-d/index.html" in index and "data_docs/run-c/index.html" in index
    assert "run-a" in index and "data_docs/run-a/index.html" not in index


def test_the_number_kept_is_a_setting():
    assert get_settings({}).keep_run_docs == 20
    assert get_settings({"EDUAID_KEEP_RUN_DOCS": "3"}).keep_run_docs == 3
