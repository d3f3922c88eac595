"""Only the newest runs keep their Data Docs site; the results history keeps every run."""

from __future__ import annotations

from orchestration.quality.history import PUBLISHED, History
from orchestration.reports.summary import prune_run_docs, write_reports_index
from orchestration.settings import get_settings


def _run_with_docs(reports, history, run_id):
    history.finish(run_id, PUBLISHED)
    for store in ("data_docs", "gx_results"):
        (reports / store / run_id).mkdir(parents=True)
        (reports / store / run_id / "index.html").write_text(run_id)


def test_the_docs_of_all_but_the_newest_runs_are_removed(tmp_path):
    history = History(tmp_path)
    runs = ["run-a", "run-b", "run-c", "run-d"]  # oldest first
    for run_id in runs:
        _run_with_docs(tmp_path, history, run_id)

    assert prune_run_docs(tmp_path, history, keep=2) == ["run-b", "run-a"]

    for store in ("data_docs", "gx_results"):
        assert sorted(p.name for p in (tmp_path / store).iterdir()) == ["run-c", "run-d"]
    assert [r[0] for r in history.runs()] == ["run-d", "run-c", "run-b", "run-a"]
    index = write_reports_index(tmp_path, history).read_text(encoding="utf-8")
    assert "data_docs/run-d/index.html" in index and "data_docs/run-a/index.html" not in index
    assert "run-a" in index  # the run is still listed, without its site
    assert prune_run_docs(tmp_path, history, keep=2) == []


def test_the_number_kept_is_a_setting():
    assert get_settings({}).keep_run_docs == 20
    assert get_settings({"EDUAID_KEEP_RUN_DOCS": "3"}).keep_run_docs == 3
