"""Apache Superset integration: the `DuckDB + textlens` engine spec, the demo dashboard bundle,
and the commands that set a Superset up and bootstrap it over its REST API.

Only `engine_spec` imports Superset (it runs inside Superset's environment);
the rest is standard library, so `textlens superset ...` works from any
environment that has textlens, with or without Superset installed.
"""
