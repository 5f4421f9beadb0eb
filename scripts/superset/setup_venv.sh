#!/usr/bin/env bash
# Build Superset's own environment (.venv-superset by default): a pinned
# apache-superset plus textlens[superset] (the dialect and the engine spec;
# remote mode only, no torch), with scripts/superset/constraints.txt.
#
#   scripts/superset/setup_venv.sh [VENV]
#
# Idempotent: pip skips what is installed. `make superset-venv` runs it when
# pyproject.toml, this script or the constraints change.
set -euo pipefail

cd "$(dirname "$0")/../.."
VENV="${1:-.venv-superset}"
PYTHON="${PYTHON:-python3}"
SUPERSET_VERSION="${SUPERSET_VERSION:-6.1.0}"
CONSTRAINTS=scripts/superset/constraints.txt

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# rich and cachetools: Superset 6.1.0 imports them without declaring them; celery,
# kombu and redis (pinned in the constraints): the Alerts & Reports worker and beat.
"$VENV/bin/python" -m pip install --quiet -c "$CONSTRAINTS" \
    "apache-superset==$SUPERSET_VERSION" rich cachetools gunicorn celery kombu redis
"$VENV/bin/python" -m pip install --quiet -c "$CONSTRAINTS" -e ".[superset]"
"$VENV/bin/python" -m pip check
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
import importlib.util

for name in ("apache-superset", "sqlalchemy", "duckdb", "duckdb-engine", "grpcio", "protobuf",
             "celery", "kombu", "redis",
             "numpy", "pandas", "pyarrow", "flask-caching", "textlens"):
    print(f"{name} {md.version(name)}")
assert importlib.util.find_spec("torch") is None, "torch must not be in Superset's environment"
print("torch: not installed (remote mode only)")
PY
