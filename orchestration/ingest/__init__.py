"""Ingest: landing files into the raw schema of the build database."""

from dagster import Definitions

from orchestration.ingest.assets import raw_assets
from orchestration.ingest.sensors import landing_sensor, raw_ingest_job

defs = Definitions(assets=raw_assets, jobs=[raw_ingest_job], sensors=[landing_sensor])
