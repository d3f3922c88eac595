from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from samples_landing import SAMPLES, age, copy_samples  # noqa: F401  (the tests' names)

from orchestration.ingest.loader import LoadSummary, load_landing


def put(landing: Path, source: str, name: str, content: bytes | str, encoding="utf-8") -> Path:
    path = landing / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


class Warehouse:
    def __init__(self, landing: Path, db: Path):
        self.landing, self.db = landing, db

    def load(self, **kwargs) -> LoadSummary:
        return load_landing(self.landing, self.db, **kwargs)

    def sql(self, query: str, params=None) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(query, params or []).fetchall()

    def one(self, query: str, params=None):
        rows = self.sql(query, params)
        assert len(rows) == 1, rows
        return rows[0] if len(rows[0]) > 1 else rows[0][0]

    def manifest(self, file_name: str) -> dict:
        with duckdb.connect(str(self.db), read_only=True) as con:
            cur = con.execute("select * from raw.load_manifest where file_name = ?", [file_name])
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        assert len(rows) == 1, rows
        return dict(zip(names, rows[0], strict=True))


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    landing = tmp_path / "landing"
    landing.mkdir()
    return Warehouse(landing, tmp_path / "warehouse" / "build.duckdb")


@pytest.fixture
def samples_warehouse(warehouse: Warehouse) -> Warehouse:
    copy_samples(warehouse.landing)
    return warehouse
