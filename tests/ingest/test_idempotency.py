"""Nothing twice: loading is idempotent by content; a correction keeps both versions."""

import os
import shutil
import time

from .conftest import SAMPLES, age, put

TABLES = ["households", "students", "schools", "disbursements", "population", "dropout_ledger",
          "load_manifest", "quarantine"]  # fmt: skip


def counts(warehouse):
    return {t: warehouse.one(f"select count(*) from raw.{t}") for t in TABLES}


def test_same_files_again_add_nothing(samples_warehouse):
    samples_warehouse.load()
    before = counts(samples_warehouse)
    sightings = samples_warehouse.one("select count(*) from raw.file_sightings")
    summary = samples_warehouse.load()
    assert {f.status for f in summary.files} == {"already_loaded"}
    assert counts(samples_warehouse) == before
    assert samples_warehouse.one("select count(*) from raw.file_sightings") == sightings


def test_same_content_under_another_name_adds_only_a_sighting(samples_warehouse):
    samples_warehouse.load()
    before = counts(samples_warehouse)
    src = samples_warehouse.landing / "schools" / "学校名录_202009.csv"
    shutil.copy(src, src.with_name("学校名录_202009(1).csv"))
    samples_warehouse.load()
    assert counts(samples_warehouse) == before
    names = samples_warehouse.sql(
        "select file_name from raw.file_sightings where source = 'schools' order by 1"
    )
    assert names == [("学校名录_202009(1).csv",), ("学校名录_202009.csv",)]


def test_copy_dropped_with_the_original_keeps_the_name_delivered_first(warehouse):
    # The copy's name sorts first, but it was delivered a day later: lineage must
    # name the original file, whatever order the names sort in.
    src = SAMPLES / "schools" / "学校名录_202009.csv"
    original = put(warehouse.landing, "schools", "学校名录_202009.csv", src.read_bytes())
    copy = put(warehouse.landing, "schools", "学校名录_202009 - 副本.csv", src.read_bytes())
    age(original, 2 * 86400)
    age(copy, 86400)
    warehouse.load()
    assert warehouse.one("select file_name from raw.load_manifest") == "学校名录_202009.csv"
    names = warehouse.sql("select distinct _file_name from raw.schools")
    assert names == [("学校名录_202009.csv",)]


def test_correction_keeps_both_versions(samples_warehouse):
    samples_warehouse.load()
    original = (SAMPLES / "schools" / "学校名录_202009.csv").read_text("utf-8-sig")
    corrected = original.replace("撤并", "正常")
    path = put(samples_warehouse.landing, "schools", "学校名录_202009_更正.csv", corrected)
    now = time.time()
    os.utime(path, (now, now))
    samples_warehouse.load()
    versions = samples_warehouse.sql(
        "select file_name, rows_loaded from raw.load_manifest where source = 'schools' "
        "order by delivered_at"
    )
    assert versions == [("学校名录_202009.csv", 5), ("学校名录_202009_更正.csv", 5)]
    assert samples_warehouse.one("select count(*) from raw.schools") == 10
    # which of the two is current is decided once, in dbt (delivery_rank; tests/dbt/test_staging)


def test_rows_read_equal_loaded_plus_quarantined(samples_warehouse):
    bad = (SAMPLES / "population" / "适龄人口_2020-09.csv").read_text("utf-8") + "1,2,3\n"
    age(put(samples_warehouse.landing, "population", "适龄人口_202010.csv", bad))
    samples_warehouse.load()
    assert (
        samples_warehouse.sql(
            "select file_name from raw.load_manifest "
            "where rows_read <> rows_loaded + rows_quarantined"
        )
        == []
    )
    per_file = samples_warehouse.sql(
        "select m.file_name, m.rows_loaded, m.rows_quarantined, "
        "(select count(*) from raw.population p where p._file_sha256 = m.file_sha256), "
        "(select count(*) from raw.quarantine q where q.file_sha256 = m.file_sha256) "
        "from raw.load_manifest m where source = 'population' order by 1"
    )
    assert per_file == [("适龄人口_2020-09.csv", 5, 0, 5, 0), ("适龄人口_202010.csv", 5, 1, 5, 1)]


def test_a_county_folder_is_part_of_the_name_not_of_the_month(warehouse):
    """A prefecture's landing keeps each county's files in a folder of their own; the
    snapshot month is read from the file's own name, never from the folder's."""
    original = (SAMPLES / "schools" / "学校名录_202009.csv").read_bytes()
    age(put(warehouse.landing, "schools", "202103补报/学校名录_202009.csv", original))
    warehouse.load()
    manifest = warehouse.manifest("202103补报/学校名录_202009.csv")
    assert manifest["status"] == "loaded", manifest["error"]
    assert str(manifest["snapshot_month"]) == "2020-09-01"
    assert warehouse.one("select distinct _file_name from raw.schools") == (
        "202103补报/学校名录_202009.csv"
    )
