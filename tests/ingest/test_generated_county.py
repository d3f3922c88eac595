"""The generator's county loads whole: every file, rows read = loaded + quarantined, no
silent drop, stated totals reconciled, and every payment line where the truth says."""

from __future__ import annotations

import duckdb

from eduaid_synth.truth import read_table
from orchestration.ingest.loader import load_landing


def test_scale_one_county_loads_whole(county, tmp_path):
    db = tmp_path / "build.duckdb"
    summary = load_landing(county / "landing", db)
    files = read_table(county / "truth", "files")
    assert summary.rows_quarantined() == 0
    with duckdb.connect(str(db), read_only=True) as con:
        m = con.execute("""select source, file_name, status, rows_read, rows_loaded,
                                  rows_quarantined, is_total_reconciled, stated_total
                           from raw.load_manifest""").df()
        sightings = con.execute("select count(*) from raw.file_sightings").fetchone()[0]
        lines = con.execute(
            "select _file_name, coalesce(_sheet_name, '') as sheet, _row_number"
            " from raw.disbursements"
        ).df()
        counts = dict(
            con.execute("""
            select 'households', count(*) from raw.households union all
            select 'students', count(*) from raw.students union all
            select 'schools', count(*) from raw.schools union all
            select 'disbursements', count(*) from raw.disbursements union all
            select 'population', count(*) from raw.population union all
            select 'dropout_ledger', count(*) from raw.dropout_ledger""").fetchall()
        )
    originals = files[files["copy_of"] == ""]
    assert (m["status"] == "loaded").all() and len(m) == len(originals)
    assert sightings == len(files)  # copies are seen, not loaded again
    assert (m["rows_read"] == m["rows_loaded"] + m["rows_quarantined"]).all()
    # nothing silently dropped: the rows loaded are exactly the records the generator wrote
    expected = originals.assign(n=originals["n_records"].astype(int)).groupby("source")["n"].sum()
    assert counts == expected.to_dict()
    stated = m[m["stated_total"].notna()]
    assert len(stated) > 0 and stated["is_total_reconciled"].all()
    # every payment line is in raw.disbursements at the file and row the truth names
    truth = read_table(county / "truth", "payment_lines")
    # a file dropped twice is loaded once, under whichever of its names came first
    original = dict(
        zip(
            files["file_name"],
            files["copy_of"].where(files["copy_of"] != "", files["file_name"]),
            strict=True,
        )
    )
    got = set(
        zip(
            lines["_file_name"].map(original),
            lines["sheet"],
            lines["_row_number"].astype(str),
            strict=True,
        )
    )
    want = set(zip(truth["source_file"], truth["sheet_name"], truth["row_number"], strict=True))
    assert want == got
