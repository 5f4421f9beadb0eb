"""The Apache Superset plugin: the `DuckDB + textlens` engine spec and its function list.

Superset loads it through the `superset.db_engine_specs` entry point; only
`engine_spec` imports Superset (it runs inside Superset's environment). The commands
that set a Superset up, bootstrap it and build the dashboards are tooling, in
`textlens.superset_tools`.
"""
