"""Broken inputs over more than one load, and a file's name apart from its content.

Each kind of bad file (what it is, what becomes of it, whether it blocks the publish) is a
row of the table in test_bad_input_battery.py; these are the behaviours around them.
"""

import shutil

from .conftest import SAMPLES, put

GOOD_SCHOOLS = (SAMPLES / "schools" / "学校名录_202009.csv").read_bytes()
POPULATION = (SAMPLES / "population" / "适龄人口_2020-09.csv").read_text("utf-8")


def load_with_good_neighbour(warehouse):
    """Load, and check that the good file next to the broken one still loaded in full."""
    put(warehouse.landing, "schools", "学校名录_202009.csv", GOOD_SCHOOLS)
    summary = warehouse.load()
    assert (
        warehouse.one("select count(*) from raw.schools where _file_name = '学校名录_202009.csv'")
        == 5
    )
    return summary


def test_disbursement_names_are_free(warehouse):
    shutil.copytree(SAMPLES / "disbursements", warehouse.landing / "disbursements")
    (warehouse.landing / "disbursements" / "示范县2020年秋季学期学生资助发放明细.csv").rename(
        warehouse.landing / "disbursements" / "发放明细.csv"
    )
    load_with_good_neighbour(warehouse)
    assert warehouse.manifest("发放明细.csv")["rows_loaded"] == 11


def test_rejected_file_is_retried(warehouse):
    put(warehouse.landing, "population", "适龄人口_202010.csv", b"")
    warehouse.load()
    put(warehouse.landing, "population", "适龄人口_202010.csv", POPULATION)
    warehouse.load()
    statuses = warehouse.sql("select status, rows_loaded from raw.load_manifest order by 1")
    assert statuses == [("loaded", 5), ("rejected", 0)]  # the empty version stays on record
    assert warehouse.one("select count(*) from raw.population") == 5


def test_a_rejected_file_delivered_again_under_another_name(warehouse):
    """Issue 12: the same bad bytes under a second name crashed the ingest (a duplicate
    manifest key) and the sources after it were never loaded. Now the record of the first
    delivery stays, and names the copy."""
    put(warehouse.landing, "households", "建档立卡_202010.csv", b"\x00\x01junk")
    put(warehouse.landing, "households", "建档立卡_202010_copy.csv", b"\x00\x01junk")
    put(warehouse.landing, "population", "适龄人口_202010.csv", POPULATION)
    summary = load_with_good_neighbour(warehouse)
    assert [f.status for f in summary.files if f.source == "households"] == ["rejected"] * 2
    ((name, error),) = warehouse.sql(
        "select file_name, error from raw.load_manifest where status = 'rejected'"
    )
    assert name == "建档立卡_202010.csv" and "NUL" in error
    assert "又以 建档立卡_202010_copy.csv 的名字送达" in error
    assert warehouse.one("select count(*) from raw.population") == 5  # a later source loaded
    names = warehouse.sql("select file_name from raw.file_sightings where source = 'households'")
    assert sorted(n for (n,) in names) == ["建档立卡_202010.csv", "建档立卡_202010_copy.csv"]


def test_a_copy_under_a_better_name_loads(warehouse):
    """A rejection that is the name's (no snapshot month) is not the content's: the same
    bytes under a name with a month load, and the content is on record as loaded."""
    put(warehouse.landing, "population", "适龄人口.csv", POPULATION)
    put(warehouse.landing, "population", "适龄人口_202010.csv", POPULATION)
    summary = load_with_good_neighbour(warehouse)
    assert [(f.file_name, f.status) for f in summary.files if f.source == "population"] == [
        ("适龄人口.csv", "rejected"),
        ("适龄人口_202010.csv", "loaded"),
    ]
    rows = warehouse.sql(
        "select file_name, status from raw.load_manifest where source = 'population'"
    )
    assert rows == [("适龄人口_202010.csv", "loaded")]
    assert warehouse.one("select count(*) from raw.population") == 5


def test_a_rejected_file_retried_in_a_later_run_keeps_naming_its_copy(warehouse):
    put(warehouse.landing, "households", "建档立卡_202010.csv", b"\x00\x01junk")
    put(warehouse.landing, "households", "建档立卡_202010_copy.csv", b"\x00\x01junk")
    warehouse.load()
    warehouse.load()
    ((name, error),) = warehouse.sql("select file_name, error from raw.load_manifest")
    assert name == "建档立卡_202010.csv"
    assert error.count("建档立卡_202010_copy.csv") == 2  # once in each language, not per run
