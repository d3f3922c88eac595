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
from test_dbt_end_to_end import EXCLUDE, KEY, copy_samples

from orchestration.dbt.assets import build_mode, dbt_resource, eduaid_dbt, fingerprint_file
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


def test_build_mode():
    db = Path("/nonexistent/build.duckdb")
    assert build_mode(db, "abc") == (True, "full refresh: no build recorded for this database")


def test_build_mode_reads_the_recorded_fingerprint(tmp_path):
    db = tmp_path / "build.duckdb"
    fingerprint_file(db).write_text("abc", encoding="utf-8")
    assert build_mode(db, "abc")[0] is False
    assert build_mode(db, "abd")[0] is True
    assert build_mode(db, "abc", forced=True)[0] is True


def _build(db: Path) -> tuple[str, dict[str, int]]:
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
    return mode, lines


def test_full_then_incremental_then_full_after_a_change(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    copy_samples(landing)
    db = tmp_path / "warehouse" / "build.duckdb"
    monkeypatch.setenv("EDUAID_LANDING", str(landing))
    monkeypatch.setenv("EDUAID_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("EDUAID_BUILD_DB", str(db))
    monkeypatch.setenv("EDUAID_PSEUDONYM_KEY", KEY)
    first = "示范县2020年秋季学期学生资助发放明细.csv"

    mode, lines = _build(db)
    assert "full refresh: no build recorded" in mode
    assert lines == {first: 11}  # the samples' README: 11 payment lines
    assert fingerprint_file(db).read_text(encoding="utf-8") == project_fingerprint()

    second = "示范县2020年秋季学期学生资助发放明细_第2批.csv"
    (landing / "disbursements" / second).write_text(SECOND_BATCH, encoding="utf-8")
    mode, lines = _build(db)
    assert "incremental" in mode
    assert lines == {first: 11, second: 2}

    fingerprint_file(db).write_text("an older project", encoding="utf-8")
    mode, lines = _build(db)
    assert "full refresh: the dbt project or a seed changed" in mode
    assert lines == {first: 11, second: 2}
