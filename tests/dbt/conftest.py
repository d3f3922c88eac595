"""Shared fixtures of the dbt tests: a county built end to end per seed, against its truth.

`built` (session scope, seeds 7 and 11, and two small counties in one landing folder;
`built_seed7`: the demo county alone): generate, ingest, `dbt build` everything once;
every truth test module reuses it. Person keys are recomputed with Python's hmac,
independently of the UDF.
"""

from __future__ import annotations

import pytest
from dbt_helpers import Built, build_db, failures, run_dbt

from eduaid_synth.cli import generate
from orchestration.ingest.loader import load_landing

_BUILDS: dict[int | str, Built] = {}
TWO_COUNTIES = "two_counties"


def _built(seed, request, tmp_path_factory, pseudonym_key) -> Built:
    """The county of `seed` built once per session, whichever fixture asks first."""
    if seed in _BUILDS:
        return _BUILDS[seed]
    if seed == 7:
        root = request.getfixturevalue("county")  # the session's demo county
    elif seed == TWO_COUNTIES:
        # a prefecture in small: two counties in one landing folder, each county's files
        # in a folder of its own (the second's), a month delivered once per county
        root = tmp_path_factory.mktemp("two_counties")
        generate(2, 7, root / "landing", root / "truth", size=0.1)
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
    _BUILDS[seed] = Built(root, database, pseudonym_key)
    return _BUILDS[seed]


@pytest.fixture(scope="session", params=[7, 11, TWO_COUNTIES], ids=["seed7", "seed11", "two"])
def built(request, tmp_path_factory, pseudonym_key) -> Built:
    return _built(request.param, request, tmp_path_factory, pseudonym_key)


@pytest.fixture(scope="session")
def built_seed7(request, tmp_path_factory, pseudonym_key) -> Built:
    """The demo county only (for tests that need one county, not every seed)."""
    return _built(7, request, tmp_path_factory, pseudonym_key)
