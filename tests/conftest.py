"""Shared fixtures: a county-scale landing folder, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from eduaid_synth.cli import generate
from eduaid_synth.truth import read_table


@pytest.fixture(scope="session")
def county(tmp_path_factory) -> Path:
    """Scale 1, seed 7: the demo county (about a minute)."""
    root = tmp_path_factory.mktemp("county")
    generate(1, 7, root / "landing", root / "truth")
    return root


@pytest.fixture(scope="session")
def truth(county):
    cache: dict[str, pd.DataFrame] = {}

    def load(name: str) -> pd.DataFrame:
        if name not in cache:
            cache[name] = read_table(county / "truth", name)
        return cache[name]

    return load


@pytest.fixture(scope="session", autouse=True)
def pseudonym_key():
    """A fixed test key for the dbt pseudonym UDF (never the local or a real key)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDUAID_PSEUDONYM_KEY", "eduaid-test-key")
        yield "eduaid-test-key"
