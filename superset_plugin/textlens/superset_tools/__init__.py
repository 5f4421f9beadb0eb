"""Superset tooling: a local Superset, its bootstrap over the REST API, the dashboards,
alerts and the demo (`textlens superset ...`).

Not the plugin: Superset itself loads only `textlens.superset_plugin` (the engine spec
and the function list). This package is standard library only, so the commands work
from any environment that has textlens, with or without Superset installed.
"""
