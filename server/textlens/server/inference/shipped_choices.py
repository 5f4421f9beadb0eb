"""Engine choices measured before release, shipped beside a built-in model's weights.

The measured choice a start caches (`selection._choice_file`) is keyed by
everything that could change it: model version, CPU kind (model name and
flags), threads, library versions, probe set, candidates ruled out. A
machine whose key matches one we measured on would measure the same thing
again, so the built-in models ship those records (`engine_choices.json`,
written by `scripts/ship_engine_choices.py`) and a first start there serves
the measured engine at once. Any other machine measures for itself (in the
background by default). A shipped record is matched by the whole key's
digest, never by a guess about similar hardware.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from textlens.server.inference.validation_gate import model_directory
from textlens.server.runtime.loading import BUILTIN_PREFIX

log = logging.getLogger(__name__)

FILE = "engine_choices.json"
FORMAT = 1


def choices_file(source: str) -> Path | None:
    directory = model_directory(source)
    return None if directory is None else directory / FILE


def read_shipped(path: Path) -> dict[str, dict[str, Any]]:
    """Key digest -> the choice record measured under that key ({} when none or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    choices = data.get("choices", {})
    return (
        {k: v for k, v in choices.items() if isinstance(v, dict)}
        if isinstance(choices, dict)
        else {}
    )


def shipped_choice(source: str, digest: str) -> dict[str, Any] | None:
    """The record shipped for this exact key, if the model ships one."""
    if not source.startswith(BUILTIN_PREFIX):
        return None  # a user's model: nothing was measured before release
    path = choices_file(source)
    return None if path is None else read_shipped(path).get(digest)


def write_shipped(path: Path, version: str, records: dict[str, dict[str, Any]]) -> int:
    """Merge `records` into `path`, dropping records of other model versions; how many kept."""
    kept = {k: v for k, v in read_shipped(path).items() if v.get("version") == version}
    kept.update(records)
    body = {"format": FORMAT, "choices": dict(sorted(kept.items()))}
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return len(kept)
