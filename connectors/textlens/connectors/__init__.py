"""Connectors: the Python client, DuckDB UDFs and the SQLAlchemy dialect."""
