"""Apache Superset integration (engine spec, datasets, dashboard)."""
