"""The ingest against the conformance corpus (tests/fixtures/conformance/ingest/).

The corpus was written by hand from the contract (raw_exports.md), independently of the
generator; `ingest/expected.json` says, per file and by hand, what loading it must give.
Each file is loaded on its own into a fresh build database (a file with the same bytes
as another is loaded after it), then the whole corpus at once, twice.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import unicodedata
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from .conftest import Warehouse

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "conformance" / "ingest"
FILES: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text("utf-8"))["files"]
COPIES = sorted(rel for rel, e in FILES.items() if "same_content_as" in e)
SINGLE = sorted(rel for rel in FILES if rel not in COPIES)

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def is_valid_id(text: str | None) -> bool:
    """GB 11643 (ISO 7064 MOD 11-2) after the harmless clean-ups: apostrophe, spaces,
    full-width digits, lowercase x."""
    if text is None:
        return False
    folded = "".join(unicodedata.normalize("NFKC", text).split()).lstrip("'").upper()
    if len(folded) != 18 or not folded[:17].isdigit():
        return False
    check = "10X98765432"[sum(int(d) * w for d, w in zip(folded, WEIGHTS, strict=False)) % 11]
    return folded[17] == check


def deliver(warehouse: Warehouse, rels: list[str]) -> None:
    """Copy files into the landing folder, each delivered a minute after the previous."""
    start = time.time() - 3600
    for i, rel in enumerate(rels):
        target = warehouse.landing / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / rel, target)
        os.utime(target, (start + 60 * i, start + 60 * i))


def source_and_name(rel: str) -> tuple[str, str]:
    source, name = rel.split("/", 1)
    return source, name


def raw_cell(warehouse: Warehouse, source: str, name: str, cell: dict):
    """The raw text at a row (and sheet, when the workbook has several) of a file."""
    sheet = "and _sheet_name = ?" if "sheet" in cell else ""
    rows = warehouse.sql(
        f'select "{cell["column"]}" from raw."{source}" '
        f"where _file_name = ? and _row_number = ? {sheet}",
        [name, cell["row"], *([cell["sheet"]] if "sheet" in cell else [])],
    )
    assert len(rows) == 1, f"{name} row {cell['row']} ({cell.get('sheet')}): {rows}"
    return rows[0][0]


def check_loaded(warehouse: Warehouse, rel: str, expected: dict) -> None:
    source, name = source_and_name(rel)
    m = warehouse.manifest(name)
    assert m["status"] == "loaded", m["error"]
    assert m["source"] == source
    month = expected["snapshot_month"]
    assert (m["snapshot_month"].isoformat() if m["snapshot_month"] else None) == month
    counts = (m["rows_read"], m["rows_loaded"], m["rows_quarantined"])
    assert counts == (expected["rows_read"], expected["rows_loaded"], expected["rows_quarantined"])
    assert m["rows_read"] == m["rows_loaded"] + m["rows_quarantined"]
    in_raw = warehouse.one(f'select count(*) from raw."{source}" where _file_name = ?', [name])
    in_quarantine = warehouse.one("select count(*) from raw.quarantine where file_name = ?", [name])
    assert (in_raw, in_quarantine) == (expected["rows_loaded"], expected["rows_quarantined"])

    if expected["stated_total"] is None:
        assert m["stated_total"] is None
        assert m["is_total_reconciled"] is not False  # nothing stated: nothing contradicted
    else:
        assert m["stated_total"] is not None, f"{name}: the totals row's figure was not kept"
        assert Decimal(str(m["stated_total"])) == Decimal(str(expected["stated_total"]))
        assert m["is_total_reconciled"] is expected["reconciled"]

    if "sheets" in expected:
        sheets = warehouse.sql(
            f'select distinct _sheet_name from raw."{source}" where _file_name = ?', [name]
        )
        assert {s for (s,) in sheets} == set(expected["sheets"])
    for cell in expected.get("raw", []):
        assert raw_cell(warehouse, source, name, cell) == cell["value"], cell
    for want in expected.get("raw_contains", []):
        rows = warehouse.sql(
            f'select * from raw."{source}" where _file_name = ? and _row_number = ?',
            [name, want["row"]],
        )
        assert len(rows) == 1 and any(want["text"] in str(v) for v in rows[0]), want
    for cell in expected.get("id_not_guessed", []):
        value = raw_cell(warehouse, source, name, {**cell, "column": "id_number"})
        assert not is_valid_id(value), f"{name} row {cell['row']}: {value!r} was completed"
    if "quarantined_rows" in expected:
        rows = warehouse.sql(
            "select row_number, reason from raw.quarantine where file_name = ? order by 1", [name]
        )
        assert [r for r, _ in rows] == expected["quarantined_rows"]
        assert all(reason for _, reason in rows)


def check_rejected(warehouse: Warehouse, rel: str, expected: dict) -> None:
    source, name = source_and_name(rel)
    m = warehouse.manifest(name)
    assert m["status"] == "rejected"
    assert (m["rows_read"], m["rows_loaded"], m["rows_quarantined"]) == (0, 0, 0)
    for text in expected.get("error_mentions", []):
        assert text in m["error"], m["error"]
    if "error_mentions_one_of" in expected:
        assert any(t in m["error"] for t in expected["error_mentions_one_of"]), m["error"]
    assert warehouse.one(f'select count(*) from raw."{source}" where _file_name = ?', [name]) == 0


def test_every_corpus_file_has_an_expectation():
    on_disk = {
        p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*") if p.is_file()
    }  # fmt: skip
    assert on_disk == set(FILES)


@pytest.mark.parametrize("rel", SINGLE)
def test_each_file_alone(warehouse, rel):
    deliver(warehouse, [rel])
    summary = warehouse.load()
    (result,) = summary.files
    expected = FILES[rel]
    assert result.status == expected["status"], result.error
    if expected["status"] == "loaded":
        assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (
            expected["rows_read"],
            expected["rows_loaded"],
            expected["rows_quarantined"],
        )
        check_loaded(warehouse, rel, expected)
    else:
        check_rejected(warehouse, rel, expected)


@pytest.mark.parametrize("rel", COPIES)
def test_the_same_bytes_again_under_another_name_change_nothing(warehouse, rel):
    original = FILES[rel]["same_content_as"]
    source, name = source_and_name(rel)
    _, first_name = source_and_name(original)
    deliver(warehouse, [original, rel])
    warehouse.load()  # must not raise

    manifest = warehouse.sql("select file_name, status from raw.load_manifest")
    assert manifest == [(first_name, FILES[original]["status"])]
    rows = warehouse.one(f'select count(*) from raw."{source}"')
    assert rows == FILES[original].get("rows_loaded", 0)
    seen = warehouse.sql("select file_name from raw.file_sightings where source = ?", [source])
    assert {n for (n,) in seen} == {first_name, name}

    before = (warehouse.sql("select * exclude (loaded_at) from raw.load_manifest"), rows)
    warehouse.load()  # and once more: still nothing new
    after = (
        warehouse.sql("select * exclude (loaded_at) from raw.load_manifest"),
        warehouse.one(f'select count(*) from raw."{source}"'),
    )
    assert after == before


def test_the_whole_corpus_at_once_loses_nothing_and_loads_nothing_twice(warehouse):
    deliver(warehouse, SINGLE + COPIES)  # the copies come after their originals
    summary = warehouse.load()
    statuses = Counter(f.status for f in summary.files)
    want = Counter(FILES[rel]["status"] for rel in SINGLE)
    assert statuses["loaded"] == want["loaded"]
    assert statuses["rejected"] >= want["rejected"]  # a rejected copy may say rejected again
    assert statuses["loaded"] + statuses["rejected"] + statuses["already_loaded"] == len(FILES)

    per_source = Counter()
    quarantined = 0
    for rel in SINGLE:
        if FILES[rel]["status"] == "loaded":
            per_source[source_and_name(rel)[0]] += FILES[rel]["rows_loaded"]
            quarantined += FILES[rel]["rows_quarantined"]
    for source, rows in per_source.items():
        assert warehouse.one(f'select count(*) from raw."{source}"') == rows, source
    assert warehouse.one("select count(*) from raw.quarantine") == quarantined
    assert warehouse.one("select count(*) from raw.load_manifest") == len(SINGLE)
    assert warehouse.one(
        "select count(*) from raw.load_manifest where rows_read <> rows_loaded + rows_quarantined"
    ) == 0  # fmt: skip
    for rel in SINGLE:  # per file, the counts (the details are test_each_file_alone's)
        expected = FILES[rel]
        m = warehouse.manifest(source_and_name(rel)[1])
        assert m["status"] == expected["status"], rel
        counts = (m["rows_read"], m["rows_loaded"], m["rows_quarantined"])
        want = tuple(expected.get(k, 0) for k in ("rows_read", "rows_loaded", "rows_quarantined"))
        assert counts == want, rel

    again = warehouse.load()
    assert not again.by_status("loaded")
    for source, rows in per_source.items():
        assert warehouse.one(f'select count(*) from raw."{source}"') == rows, source
