"""The raw schema of the build database: one table per source (its canonical columns as
text, plus lineage), the load manifest, the quarantine and the file sightings."""

from __future__ import annotations

import duckdb

from orchestration.ingest.reading import (
    SOURCES,
    SourceColumns,
)

# The registries as county staff name them (messages and the run summary are Chinese first).
SOURCE_NAMES_CN = {
    "disbursements": "资助发放名单",
    "dropout_ledger": "控辍保学台账",
    "households": "建档立卡贫困人口",
    "population": "户籍人口",
    "schools": "学校名录",
    "students": "学籍",
}


LINEAGE_COLUMNS = {
    "extra_columns": "VARCHAR",
    "_source": "VARCHAR",
    "_file_name": "VARCHAR",
    "_file_sha256": "VARCHAR",
    "_sheet_name": "VARCHAR",
    "_row_number": "INTEGER",
    "_snapshot_month": "DATE",
    "_delivered_at": "TIMESTAMP",
    "_loaded_at": "TIMESTAMP",
}


MANIFEST_DDL = """
create table if not exists raw.load_manifest (
    file_sha256 varchar primary key,
    source varchar not null,
    file_name varchar not null,
    file_size bigint,
    snapshot_month date,
    delivered_at timestamp,
    loaded_at timestamp,
    file_format varchar,
    encoding varchar,
    sheets varchar,
    rows_read integer,
    rows_loaded integer,
    rows_quarantined integer,
    stated_total decimal(18, 2),
    loaded_total decimal(18, 2),
    total_kind varchar,
    is_total_reconciled boolean,
    status varchar not null,
    error varchar,
    warnings varchar,
    column_map varchar
)"""


QUARANTINE_DDL = """
create table if not exists raw.quarantine (
    source varchar,
    file_name varchar,
    file_sha256 varchar,
    sheet_name varchar,
    row_number integer,
    reason varchar,
    raw_text varchar,
    loaded_at timestamp
)"""


SIGHTINGS_DDL = """
create table if not exists raw.file_sightings (
    source varchar,
    file_name varchar,
    file_sha256 varchar,
    file_size bigint,
    delivered_at timestamp,
    first_seen_at timestamp,
    last_seen_at timestamp,
    primary key (source, file_name, file_sha256)
)"""


def ensure_schema(con: duckdb.DuckDBPyConnection, specs: dict[str, SourceColumns]) -> None:
    con.execute("create schema if not exists raw")
    for source in SOURCES:
        wanted = {c: "VARCHAR" for c in specs[source].columns} | LINEAGE_COLUMNS
        cols = ", ".join(f'"{c}" {t}' for c, t in wanted.items())
        con.execute(f'create table if not exists raw."{source}" ({cols})')
        have = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw' and table_name = ?",
                [source],
            ).fetchall()
        }
        for col, typ in wanted.items():  # the seed gained a column since the table was made
            if col not in have:
                con.execute(f'alter table raw."{source}" add column "{col}" {typ}')
    con.execute(MANIFEST_DDL)
    con.execute(QUARANTINE_DDL)
    con.execute(SIGHTINGS_DDL)
