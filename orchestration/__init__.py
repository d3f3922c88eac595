"""Dagster code of eduaid: one package per concern (ingest, dbt, quality, publish)."""
