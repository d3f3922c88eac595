"""The pipeline's dbt step decides between an incremental and a full build, for real.

Dagster materialises the raw assets and staging (dbt in a subprocess) on the samples:
the first build is full (no build recorded) and records the project's fingerprint beside
the build database. A second payment list for the same term arrives: the next build is
incremental, and staging holds the old lines once and the new ones once. Then the
recorded fingerprint no longer matches (as after a change to a model or a seed): the
build is full again, with the same rows. `build_mode` itself is checked directly.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import AssetSelection, DagsterInstance, materialize
from samples_landing import copy_samples
from test_dbt_end_to_end import EXCLUDE, KEY

from orchestration.dbt.assets import dbt_resource, eduaid_dbt
from orchestration.dbt.build_state import BuildPlan, BuildState, NodeBuild, plan_build, state_file
from orchestration.dbt.project import project_fingerprint
from orchestration.ingest.assets import raw_assets

pytestmark = pytest.mark.slow
SECOND_BATCH = (
    "学年,学期,资助项目,学校标识码,学校名称,学生姓名,身份证号,学籍号,年级,家庭经济困难类型,"
    "发放金额（元）,发放日期,发放方式,批次号\n"
    "2020-2021,秋季学期,义务教育营养改善计划,2142039901,示范县城关镇中心小学,王小明,"
    "420399200901050121,G420399200901050121,六年级,建档立卡,400.00,2020/12/28,一卡通,2020Q4-02\n"
    "2020-2021,秋季学期,义务教育营养改善计划,2142039901,示范县城关镇中心小学,王小红,"
    "420399201308200242,,一年级,建档立卡,400.00,2020/12/28,一卡通,2020Q4-02\n"
)


PROJECT = "project-a"
SOURCES_A = {"students": "s1", "disbursements": "d1"}


MANIFEST = {
    "metadata": {"project_name": "eduaid"},
    "child_map": {
        "source.eduaid.raw.disbursements": ["stg"],
        "source.eduaid.raw.students": [],
        "source.eduaid.raw.load_manifest": ["files"],
        "stg": ["m", "test.unique_stg"],
        "seed": ["m"],
    },
}
NODES = ["m", "seed"]


def _state(**nodes: dict) -> BuildState:
    return BuildState({uid: NodeBuild(**node) for uid, node in nodes.items()})


def _plan(state: BuildState, sources=SOURCES_A, nodes=NODES, **kwargs) -> BuildPlan:
    return plan_build(state, MANIFEST, nodes, PROJECT, sources, **kwargs)


def test_a_database_never_built_or_built_by_another_project_is_built_in_full():
    assert _plan(BuildState(), nodes=["m"]) == BuildPlan(
        True, (), "full refresh: no build recorded for this database"
    )
    state = _state(m={"run": "r1", "project": "project-b", "sources": SOURCES_A})
    assert _plan(state, nodes=["m"]).full
    state = _state(m={"run": "r1", "project": PROJECT, "sources": SOURCES_A})
    assert _plan(state, nodes=["m"], forced=True).full
    assert _plan(state, nodes=["m", "new_model"]).full


def test_only_what_reads_a_changed_table_is_built():
    state = _state(
        m={"run": "r1", "project": PROJECT, "sources": SOURCES_A},
        seed={"run": "r1", "project": PROJECT, "sources": SOURCES_A},
    )
    nothing = _plan(state)
    assert (nothing.full, nothing.kept, nothing.builds_anything(NODES)) == (
        False,
        ("m", "seed"),
        False,
    )
    new_payments = {**SOURCES_A, "disbursements": "d2"}
    plan = _plan(state, new_payments)
    assert (plan.full, plan.kept) == (False, ("seed",))  # m reads the payments two steps down
    assert plan.why.startswith("incremental: only what reads disbursements (")
    # after that build, a node it left alone is current with the new sources, and keeps
    # the run that last built its table
    after = state.after(NODES, ["m"], "r2", PROJECT, new_payments)
    assert (after.run_of("m"), after.run_of("seed")) == ("r2", "r1")
    assert not _plan(after, new_payments).builds_anything(NODES)
    # a node the run selected but did not build (left out by `exclude`) is not recorded
    assert after.after(["m", "new"], ["m"], "r3", PROJECT, SOURCES_A).run_of("new") is None


def test_a_bookkeeping_table_that_changed_rebuilds_the_models_that_read_it():
    """A rejected file changes raw.load_manifest and no registry table: a model reading the
    manifest is rebuilt, and a run whose selection reads no changed table builds nothing."""
    sources = {**SOURCES_A, "load_manifest": "lm1"}
    state = _state(
        m={"run": "r1", "project": PROJECT, "sources": sources},
        files={"run": "r1", "project": PROJECT, "sources": sources},
    )
    rejected = {**sources, "load_manifest": "lm2"}
    plan = _plan(state, rejected, nodes=["m", "files"])
    assert (plan.kept, plan.builds_anything(["m", "files"])) == (("m",), True)
    alone = _plan(state, rejected, nodes=["m"])
    assert not alone.builds_anything(["m"])
    assert (
        alone.why == "nothing to build: only load_manifest changed, which no selected model reads"
    )


def _build(db: Path) -> tuple[str, dict[str, int], str]:
    """(the dbt step's build mode, payment lines per file in staging, the run id)"""
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [*raw_assets, eduaid_dbt],
        selection=AssetSelection.groups("raw", "reference", "staging"),
        resources={"dbt": dbt_resource},
        instance=instance,
        run_config={"ops": {"eduaid_dbt": {"config": {"exclude": EXCLUDE}}}},
    )
    assert result.success
    (mode,) = [
        e.user_message for e in instance.all_logs(result.run_id) if "dbt build, " in e.user_message
    ]
    with duckdb.connect(str(db), read_only=True) as con:
        lines = dict(
            con.execute(
                "select source_file, count(*) from staging.stg_disbursements__payment_lines "
                "group by 1"
            ).fetchall()
        )
    return mode, lines, result.run_id


PAYMENTS = "model.eduaid.stg_disbursements__payment_lines"
STUDENTS = "model.eduaid.stg_students__enrollments"


def test_full_then_incremental_then_nothing_then_full_after_a_change(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    copy_samples(landing)
    db = tmp_path / "warehouse" / "build.duckdb"
    monkeypatch.setenv("EDUAID_LANDING", str(landing))
    monkeypatch.setenv("EDUAID_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("EDUAID_BUILD_DB", str(db))
    monkeypatch.setenv("EDUAID_PSEUDONYM_KEY", KEY)
    first = "示范县2020年秋季学期学生资助发放明细.csv"

    mode, lines, run1 = _build(db)
    assert "full refresh: no build recorded" in mode
    assert lines == {first: 11}  # the samples' README: 11 payment lines
    state = BuildState.read(db)
    assert {state.nodes[PAYMENTS].project, state.nodes[STUDENTS].project} == {project_fingerprint()}
    assert state.run_of(PAYMENTS) == state.run_of(STUDENTS) == run1

    second = "示范县2020年秋季学期学生资助发放明细_第2批.csv"
    (landing / "disbursements" / second).write_text(SECOND_BATCH, encoding="utf-8")
    mode, lines, run2 = _build(db)
    assert "incremental: only what reads disbursements" in mode
    assert lines == {first: 11, second: 2}
    state = BuildState.read(db)
    # the payments were staged again, the students' table was left as the first run built it
    assert (state.run_of(PAYMENTS), state.run_of(STUDENTS)) == (run2, run1)

    mode, lines, _ = _build(db)
    assert "nothing to build" in mode
    assert lines == {first: 11, second: 2}
    assert BuildState.read(db).run_of(PAYMENTS) == run2

    text = state_file(db).read_text(encoding="utf-8")
    state_file(db).write_text(text.replace(project_fingerprint(), "an older project"), "utf-8")
    mode, lines, run4 = _build(db)
    assert "full refresh: the dbt project or a seed changed" in mode
    assert lines == {first: 11, second: 2}
    assert BuildState.read(db).run_of(STUDENTS) == run4
