"""End to end on the sample exports: landing files -> raw assets -> dbt staging.

One Dagster run materialises the six raw assets, the seeds and the staging models
(`dbt build` in a subprocess, generic tests included; the unit tests run in
tests/dbt). Then `dbt show` (in process, reusing the build's parse)
calls the pseudonym macros on a dbt connection, where the plugin registers the UDF.
"""

import duckdb
import pytest
from dagster import AssetSelection, DagsterInstance, materialize
from dbt.cli.main import dbtRunner
from samples_landing import copy_samples

from orchestration.dbt.assets import dbt_environment, dbt_resource, eduaid_dbt
from orchestration.dbt.project import dbt_project
from orchestration.dbt.pseudonym_plugin import pseudonym
from orchestration.ingest.assets import raw_assets

KEY = "end-to-end-test-key"
SHOW = (
    "select {{ person_key(\"'x'\") }} as p, {{ person_key('null') }} as n, "
    "{{ mask_id(\"'420399200901050121'\") }} as m, {{ mask_id(\"'4203'\") }} as s"
)


# Unit tests run in tests/dbt; a test between a selected seed and an unbuilt mart
# (fct_audit_finding.finding_type → finding_types) is left out with the mart.
EXCLUDE = "test_type:unit fct_audit_finding path:models/marts+ path:models/restricted+"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    landing = root / "landing"
    copy_samples(landing)
    db = root / "warehouse" / "build.duckdb"
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDUAID_LANDING", str(landing))
        patch.setenv("EDUAID_WAREHOUSE", str(root / "warehouse"))
        patch.setenv("EDUAID_BUILD_DB", str(db))
        patch.setenv("EDUAID_PSEUDONYM_KEY", KEY)
        result = materialize(
            [*raw_assets, eduaid_dbt],
            # Every seed: the staging models' relationship tests read seeds they
            # do not select from (aid_programs).
            selection=AssetSelection.groups("raw", "reference", "staging"),
            resources={"dbt": dbt_resource},
            instance=DagsterInstance.ephemeral(),
            run_config={"ops": {"eduaid_dbt": {"config": {"exclude": EXCLUDE}}}},
        )
        out["result"] = result
        out["materialized"] = {
            e.asset_key.to_user_string() for e in result.get_asset_materialization_events()
        }
        with duckdb.connect(str(db), read_only=True) as con:
            out["staging_tables"] = {
                name
                for (name,) in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = 'staging' and table_type = 'BASE TABLE'"
                ).fetchall()
            }
            for model in ("stg_students__enrollments", "stg_disbursements__payment_lines"):
                (out[model],) = con.execute(f"select count(*) from staging.{model}").fetchone()
        # The build's own target folder, so that dbt show parses partially.
        (target,) = (dbt_project.project_dir / dbt_project.target_path).glob(
            f"eduaid_dbt-{result.run_id[:7]}-*"
        )
        with dbt_environment():
            show = dbtRunner().invoke(
                [
                    *("show", "--inline", SHOW, "--quiet"),
                    *("--project-dir", str(dbt_project.project_dir)),
                    *("--profiles-dir", str(dbt_project.profiles_dir)),
                    *("--target-path", str(target)),
                    *("--log-path", str(root / "dbt_logs")),
                ]
            )
        assert show.success, show.exception
        table = show.result.results[0].agate_table
        out["show"] = [dict(zip(table.column_names, row, strict=True)) for row in table.rows]
    return out


def test_raw_and_staging_materialized(built):
    assert built["result"].success
    keys = built["materialized"]
    assert {f"raw/{s}" for s in ("households", "students", "disbursements")} <= keys
    assert "staging/stg_students__enrollments" in keys
    assert "reference/aid_programs" in keys
    assert not any(k.startswith(("intermediate/", "marts/")) for k in keys)


def test_staging_tables_hold_the_samples(built):
    assert {"stg_students__enrollments", "stg_households__members"} <= built["staging_tables"]
    assert built["stg_students__enrollments"] == 7
    assert built["stg_disbursements__payment_lines"] == 11


def test_pseudonym_macros_on_a_dbt_connection(built):
    assert built["show"] == [
        {"p": pseudonym("x", KEY), "n": None, "m": "420399********0121", "s": None}
    ]
