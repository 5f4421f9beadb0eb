"""Stable UUIDs for the bundle's objects: re-importing updates them instead of adding copies."""

from __future__ import annotations

import uuid

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "textlens/superset")


def stable_uuid(name: str) -> str:
    """The same UUID for the same name, on every machine."""
    return str(uuid.uuid5(NAMESPACE, name))
