"""Ingest: landing files into the raw schema of the build database."""

from dagster import Definitions

from orchestration.ingest.assets import raw_assets

defs = Definitions(assets=raw_assets)
