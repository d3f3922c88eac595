"""`make run`: the whole pipeline in process, on the configured landing folder.

Generates the demo county first when the landing folder is empty, so that a fresh
clone shows something real, and a local pseudonym key when there is none; then
materialises the Dagster assets (the ingest, then `dbt build`) and prints what was
loaded and where the results are; then runs every quality suite of `expectations/`
on the build database and publishes `<warehouse>/analytics.duckdb` and `audit.duckdb`
only when no critical expectation failed (exit status 2 when the gate blocks).
"""

from __future__ import annotations

import json
import sys
import time

import duckdb
from dagster import materialize

from orchestration.dbt.keys import ensure_key
from orchestration.ingest.assets import raw_assets
from orchestration.publish import PublishBlocked, PublishError, publish
from orchestration.quality import CheckResult, run_suite
from orchestration.quality.runner import EXPECTATIONS_DIR
from orchestration.settings import Settings, get_settings


def _landing_is_empty(settings: Settings) -> bool:
    return not settings.landing.exists() or not any(
        p.is_file() for p in settings.landing.rglob("*")
    )


def ensure_demo_data(settings: Settings) -> None:
    if not _landing_is_empty(settings):
        return
    from eduaid_synth.cli import generate

    print(f"{settings.landing} is empty: generating the demo county (示范县, scale 1, seed 7) ...")
    t0 = time.perf_counter()
    res = generate(1, 7, settings.landing, settings.truth, force=True)
    files = sum(r["files"] for r in res)
    records = sum(r["records"] for r in res)
    print(
        f"  wrote {files} files, {records:,} records in {time.perf_counter() - t0:.0f} s; "
        f"truth in {settings.truth}"
    )


def manifest_summary(settings: Settings) -> str:
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        rows = con.execute("""
            select source,
                   count(*) as files,
                   count(*) filter (where status = 'loaded') as loaded,
                   count(*) filter (where status = 'rejected') as rejected,
                   coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
                   coalesce(sum(rows_quarantined), 0),
                   count(*) filter (where is_total_reconciled) as reconciled,
                   count(*) filter (where is_total_reconciled = false) as unreconciled
            from raw.load_manifest
            group by source
            order by source
        """).fetchall()
        errors = con.execute("""
            select source, file_name, error from raw.load_manifest
            where status = 'rejected' order by source, file_name
        """).fetchall()
    head = (
        f"{'source':<16}{'files':>6}{'loaded':>8}{'rejected':>9}{'rows read':>11}"
        f"{'loaded':>10}{'quarant.':>9}{'totals ok':>10}{'totals off':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r[0]:<16}{r[1]:>6}{r[2]:>8}{r[3]:>9}{r[4]:>11,}{r[5]:>10,}{r[6]:>9,}"
            f"{r[7]:>10}{r[8]:>11}"
        )
    for source, name, error in errors:
        lines.append(f"rejected {source}/{name}: {error}")
    return "\n".join(lines)


def run_gate(settings: Settings) -> dict[str, list[CheckResult]]:
    """Every suite of `expectations/` on its table of the build database (`meta.table`,
    else `marts.<suite>`), with one summary line per suite."""
    gate: dict[str, list[CheckResult]] = {}
    for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
        name = path.stem
        table = json.loads(path.read_text(encoding="utf-8")).get("meta", {}).get("table")
        results = run_suite(settings.build_db, table or f"marts.{name}", name)
        gate[name] = results
        failed_critical = sum(r.blocks for r in results)
        failed_warning = sum(not r.success and not r.blocks for r in results)
        print(
            f"  {name:<24} {len(results):>3} expectations, "
            f"{sum(r.success for r in results):>3} passed, "
            f"{failed_critical} critical failed, {failed_warning} warnings"
        )
    return gate


def main() -> int:
    settings = get_settings()
    ensure_demo_data(settings)
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    created = ensure_key(settings)
    if created:
        print(f"no pseudonym key: created a local one for the demo in {created} (never commit it)")
    # Imported here: loading the dbt assets parses the dbt project when needed.
    from orchestration.dbt.assets import dbt_resource, eduaid_dbt

    t0 = time.perf_counter()
    result = materialize(
        [*raw_assets, eduaid_dbt], resources={"dbt": dbt_resource}, raise_on_error=False
    )
    if not result.success:
        print("the pipeline failed; see the log above", file=sys.stderr)
        return 1
    print(f"\ningest and dbt build finished in {time.perf_counter() - t0:.0f} s. Load manifest:\n")
    print(manifest_summary(settings))
    print(
        f"\nresults: raw tables, load manifest and quarantine in {settings.build_db} (schema raw)"
    )
    print(f"dbt models in {settings.build_db}, schemas staging, intermediate and marts")

    print("\nquality gate (Great Expectations on the build database):")
    gate = run_gate(settings)
    try:
        published = publish(settings, gate)
    except (PublishBlocked, PublishError) as blocked:
        print(f"\n{blocked}", file=sys.stderr)
        print("nothing published: the previous analytics.duckdb and audit.duckdb are unchanged")
        return 2
    print(
        f"\npublished {published.analytics} ({len(published.tables)} marts tables) and "
        f"{published.audit} ({published.findings:,} findings, "
        f"{published.payment_lines:,} payment lines; restricted: real IDs and names)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
