"""What the ingest records about each file: the load manifest row (counts, stated and loaded
totals, warnings), the quarantined rows with their reasons, and every sighting of a file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import duckdb

from orchestration.ingest.sheet import FileContext, SheetOutcome


@dataclass
class FileResult:
    source: str
    file_name: str
    file_sha256: str
    status: str  # loaded | rejected | already_loaded
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    is_total_reconciled: bool | None = None
    file_format: str | None = None
    seconds: float = 0.0


@dataclass
class LoadSummary:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def by_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    def as_dict(self) -> dict:
        return {
            "files": len(self.files),
            "loaded": len(self.by_status("loaded")),
            "already_loaded": len(self.by_status("already_loaded")),
            "rejected": len(self.by_status("rejected")),
            "rows_loaded": self.rows_loaded(),
            "rows_quarantined": self.rows_quarantined(),
            "seconds": round(self.seconds, 3),
            "details": [asdict(f) for f in self.files],
        }


def record_sighting(con: duckdb.DuckDBPyConnection, ctx: FileContext) -> None:
    con.execute(
        """insert into raw.file_sightings values (?, ?, ?, ?, ?, ?, ?)
        on conflict do update set last_seen_at = excluded.last_seen_at""",
        [
            ctx.source,
            ctx.file_name,
            ctx.sha256,
            ctx.size,
            ctx.delivered_at,
            ctx.loaded_at,
            ctx.loaded_at,
        ],
    )


def unreconciled_note(
    stated: list[SheetOutcome], kind: str, stated_value: Decimal, loaded_value: Decimal
) -> str:
    """`合计行（第12行）所列金额 … 与入库明细之和 … 不符` in both languages."""
    where_cn = "、".join(
        (f"工作表“{o.name}”" if o.name else "") + "、".join(f"第{r}行" for r in o.total_rows)
        for o in stated
    )
    where_en = ", ".join(
        (f"sheet {o.name} " if o.name else "") + ", ".join(f"row {r}" for r in o.total_rows)
        for o in stated
    )
    if kind == "amount":
        return (
            f"合计行（{where_cn}）所列金额 {stated_value} 元，与入库明细行的金额之和 "
            f"{loaded_value} 元不符 / loaded amount {loaded_value} differs from stated "
            f"{stated_value} (totals row: {where_en})"
        )
    return (
        f"合计行（{where_cn}）所列 {stated_value} 人（条），与入库的明细行数 {loaded_value} 不符 / "
        f"loaded count {loaded_value} differs from stated {stated_value} (totals row: {where_en})"
    )


def write_manifest(
    con: duckdb.DuckDBPyConnection,
    ctx: FileContext,
    *,
    status: str,
    error: str | None = None,
    sheets: list[str] | None = None,
    rows_loaded: int = 0,
    rows_quarantined: int = 0,
    stated_total: Decimal | None = None,
    loaded_total: Decimal | None = None,
    total_kind: str | None = None,
    is_total_reconciled: bool | None = None,
    warnings: list[str] | None = None,
    column_map: dict | None = None,
) -> None:
    con.execute(
        "insert into raw.load_manifest values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ctx.sha256,
            ctx.source,
            ctx.file_name,
            ctx.size,
            ctx.snapshot,
            ctx.delivered_at,
            ctx.loaded_at,
            ctx.file_format,
            ctx.encoding,
            json.dumps(sheets, ensure_ascii=False) if sheets else None,
            rows_loaded + rows_quarantined,
            rows_loaded,
            rows_quarantined,
            stated_total,
            loaded_total,
            total_kind,
            is_total_reconciled,
            status,
            error,
            "; ".join(warnings) if warnings else None,
            json.dumps(column_map, ensure_ascii=False) if column_map else None,
        ],
    )
