"""Tests of textlens.connectors (the DuckDB connector; the client has tests/client)."""
