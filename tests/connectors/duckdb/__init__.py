"""Tests of textlens.connectors.duckdb: real DuckDB, real servers on loopback."""
