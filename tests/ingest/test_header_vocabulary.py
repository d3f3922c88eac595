"""Every spelling the contract names for a column concept is read by every source that
has a column of that concept (raw_exports.md, "header spelling"): one vocabulary in
seeds/header_aliases.csv, each source's columns in seeds/source_columns.csv."""

from __future__ import annotations

import csv

import pytest

from orchestration.settings import SEEDS_DIR

from .conftest import SAMPLES, put

# The contract's general row: the ID column, in any source that has one.
ID_SPELLINGS = ["身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证件号"]
# (source, sample file, encoding, header text of its ID column, data rows, rows with an ID)
CSV_SAMPLES = [
    ("disbursements", "示范县2020年秋季学期学生资助发放明细.csv", "gbk", "身份证号", 11, 11),
    ("students", "学籍信息_202009.csv", "gbk", "身份证件号", 7, 6),  # 孙一: an L number, no ID
    ("population", "适龄人口_2020-09.csv", "utf-8", "公民身份号码", 5, 5),
]


def _sources_with(concept: str) -> set[str]:
    with (SEEDS_DIR / "source_columns.csv").open(encoding="utf-8") as f:
        return {r["source"] for r in csv.DictReader(f) if r["concept"] == concept}


def test_the_vocabulary_has_every_id_spelling_of_the_contract():
    with (SEEDS_DIR / "header_aliases.csv").open(encoding="utf-8") as f:
        spelled = {r["alias"] for r in csv.DictReader(f) if r["concept"] == "id_number"}
    assert set(ID_SPELLINGS) <= spelled
    assert _sources_with("id_number") == {
        "households", "students", "disbursements", "population", "dropout_ledger",
    }  # fmt: skip


@pytest.mark.parametrize("spelling", ID_SPELLINGS)
@pytest.mark.parametrize(("source", "name", "encoding", "header", "rows", "ids"), CSV_SAMPLES)
def test_every_id_spelling_loads_in_every_source(
    warehouse, source, name, encoding, header, rows, ids, spelling
):
    text = (SAMPLES / source / name).read_bytes().decode(encoding)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if header in line.split(","))
    lines[at] = ",".join(spelling if c == header else c for c in lines[at].split(","))
    put(warehouse.landing, source, name, "\n".join(lines) + "\n", encoding)
    warehouse.load()
    m = warehouse.manifest(name)
    assert (m["status"], m["error"], m["rows_loaded"]) == ("loaded", None, rows)
    # the ID column, under its new spelling, is mapped: every ID is in raw.<source>.id_number
    assert warehouse.one(f"select count(*) from raw.{source} where id_number is not null") == ids


def test_a_misspelt_required_header_is_named_with_a_suggestion(warehouse):
    name = "示范县2020年秋季学期学生资助发放明细.csv"
    text = (SAMPLES / "disbursements" / name).read_bytes().decode("gbk")
    put(warehouse.landing, "disbursements", name, text.replace("身份证号", "身份证号吗"), "gbk")
    warehouse.load()
    m = warehouse.manifest(name)
    assert m["status"] == "rejected"
    assert name in m["error"] and "缺少必需的列 id_number" in m["error"]
    assert '未识别的列 "身份证号吗"，是否为 身份证号' in m["error"]
    assert "headers found: 学年、学期、资助项目" in m["error"]


def test_an_optional_header_close_to_a_spelling_is_a_warning(warehouse):
    name = "示范县2020年秋季学期学生资助发放明细.csv"
    text = (SAMPLES / "disbursements" / name).read_bytes().decode("gbk")
    put(warehouse.landing, "disbursements", name, text.replace("发放日期", "发放日起"), "gbk")
    warehouse.load()
    m = warehouse.manifest(name)
    assert m["status"] == "loaded" and m["rows_loaded"] == 11
    assert '未识别的列 "发放日起"，是否为 发放日期？' in m["warnings"]
