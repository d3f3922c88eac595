"""Dagster entry point: only assembles the definitions of each concern's package.

Add a package by importing it and listing its `defs` below.
"""

from dagster import Definitions

from orchestration import dbt, ingest, pipeline, publish, quality

defs = Definitions.merge(
    ingest.defs,
    dbt.defs,
    quality.defs,
    publish.defs,
    pipeline.defs,
)
