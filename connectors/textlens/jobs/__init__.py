"""Batch jobs over DuckDB with the textlens functions: `textlens sql`, `textlens enrich`
and `textlens enrich --ray`.

One rule for all of them: a run is all or nothing. The output is one `CREATE TABLE ... AS`
or a file written under a temporary name and renamed at the end, so a failed or
interrupted run leaves no output and an existing one untouched (`--replace` to overwrite).
"""
