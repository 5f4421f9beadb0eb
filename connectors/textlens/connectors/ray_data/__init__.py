"""Bulk enrichment on Ray Data (`textlens enrich --ray`); needs `textlens[ray]`."""
