"""Write one export file in the messy shape of the input contract (raw_exports.md).

The world model hands over clean records in canonical columns; this module decides
only how they are spelled and laid out: encoding, title/subtitle/totals/sign-off rows,
header aliases, extra columns, sheets, merged cells, blank rows, and per-value
spellings of IDs, names, dates, money, grades, statuses, programmes and terms.

Rule: every quirk applied here is lossless. Each written value cleans back (by the
contract's rules) to exactly the clean input value; lossy problems (mangled or
invalid IDs, duplicate lines, refunds) arrive already planted in the records.

The CSV path is column-wise: spellings are computed on the unique values of a column
(dates, money, grades …) or on the sampled subset a quirk touches (IDs, names), never
per cell of the whole file, and rows are written by the C ``csv`` writer in chunks.

The package, one module per part: spec (requests, settings), cells (spellings),
layout (columns, rows, sheets), writers (CSV, xlsx, xls); `render` here writes one file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .cells import Renderer
from .layout import amount_cents, header_text, plan_sheets, render_columns, sheet_groups
from .spec import SOURCES, FileRequest, QuirkConfig, RenderedFile, RenderError
from .writers import check_rows, sheet_plan, write_csv, write_xls, write_xlsx

__all__ = ["FileRequest", "QuirkConfig", "RenderError", "RenderedFile", "render"]
DEFAULT_CONFIG = QuirkConfig()


def render(req: FileRequest, out_dir: Path, cfg: QuirkConfig = DEFAULT_CONFIG) -> RenderedFile:
    """Write ``req`` to ``out_dir/<file_stem>.<fmt>`` and say where every record went."""
    if req.source not in SOURCES:
        raise RenderError(f"{req.file_stem}: unknown source {req.source!r}")
    if req.fmt not in ("csv", "xlsx", "xls"):
        raise RenderError(f"{req.file_stem}: unknown format {req.fmt!r}")
    r = Renderer(req, cfg)
    order, values = render_columns(r)
    header = [header_text(r, k) for k in order]
    cents = amount_cents(r.records) if req.source == "disbursements" else None
    groups = sheet_groups(r)
    blank_after = r.sample(cfg.blank_rows)
    if not order:
        raise RenderError(f"{req.file_stem}: no column of {req.source!r} in the records")
    sheets, stated = plan_sheets(r, order, groups, blank_after, cents)

    path = Path(out_dir) / f"{req.file_stem}.{req.fmt}"  # the stem may name a county's folder
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet_names: list[str] = []
    if req.fmt == "csv":
        write_csv(path, r, order, values, header, sheets[0])
    else:
        check_rows(r, sheets)
        plan = sheet_plan(r, sheets)
        writer = write_xlsx if req.fmt == "xlsx" else write_xls
        writer(path, r, order, values, header, sheets, plan)
        sheet_names = [s.name for s in sheets]

    sheet_col = np.full(r.n, None, dtype=object)
    row_col = np.zeros(r.n, dtype=np.int64)
    for s in sheets:
        sheet_col[s.rows] = s.name
        row_col[s.rows] = s.data_rows + 1
    locations = pd.DataFrame({"sheet_name": sheet_col, "row_number": row_col})
    return RenderedFile(
        path=path,
        source=req.source,
        fmt=req.fmt,
        encoding=req.encoding if req.fmt == "csv" else None,
        sheets=sheet_names,
        locations=locations,
        stated_total=stated if req.with_total else None,
        header=header,
        quirks=r.counter,
    )


__all__ = ["SOURCES", "FileRequest", "QuirkConfig", "RenderError", "RenderedFile", "render"]
