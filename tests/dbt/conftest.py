"""Shared fixtures of the dbt tests: a county built end to end per seed, against its truth.

`built` (session scope, seeds 7 and 11): generate a county, ingest it, `dbt build`
everything once; every truth test module reuses it. Person keys are recomputed with
Python's hmac, independently of the UDF.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dbt_helpers import Built, build_db, failures, run_dbt

from eduaid_synth.cli import generate
from orchestration.ingest.loader import load_landing


@pytest.fixture(scope="session", params=[7, 11], ids=["seed7", "seed11"])
def built(request, tmp_path_factory, pseudonym_key) -> Iterator[Built]:
    seed = request.param
    if seed == 7:
        root = request.getfixturevalue("county")  # the session's demo county
    else:
        root = tmp_path_factory.mktemp(f"county{seed}")
        generate(1, seed, root / "landing", root / "truth")
    work = tmp_path_factory.mktemp(f"core{seed}")
    database = work / "build.duckdb"
    summary = load_landing(root / "landing", database)
    assert not summary.by_status("rejected")
    with build_db(database):
        result = run_dbt(["build"], work)
    bad = failures(result, allow_warn=True)
    assert not bad, "\n".join(bad)
    yield Built(root, database, pseudonym_key)
