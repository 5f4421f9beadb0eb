"""The languages a served model reads, from its spec or its files, without loading it.

The language policy (`textlens.server.language.policy`) screens texts against this
list; see there for the rule of which declaration wins.
"""

from __future__ import annotations

from pathlib import Path

from textlens.server.runtime.artifacts import is_delta_dir, read_meta
from textlens.server.runtime.loading import resolve_directory
from textlens.server.settings import ModelSpec

#: What the packaged MiniLM encoder (and every model trained on it) reads.
BUILTIN_LANGUAGES = ("en",)
_BUILTIN = "builtin:"
#: Deltas on deltas: how far down the base chain a declaration is looked for.
_MAX_DEPTH = 4


def _declared(source: str, depth: int = 0) -> tuple[str, ...] | None:
    """What a source's files say it reads, without loading (or downloading) anything."""
    if depth > _MAX_DEPTH:
        return None
    if source.startswith(_BUILTIN):
        try:
            directory = resolve_directory(source)
        except Exception:  # an unknown builtin fails to load anyway, with its own message
            return BUILTIN_LANGUAGES
        if is_delta_dir(directory):
            meta = read_meta(directory)
            if meta.languages is not None:
                return tuple(meta.languages)
        return BUILTIN_LANGUAGES
    path = Path(source).expanduser()
    if not path.is_dir() or not is_delta_dir(path):
        return None  # a hub id or a plain Hugging Face directory: nothing declared
    meta = read_meta(path)
    if meta.languages is not None:
        return tuple(meta.languages)
    return _declared(meta.base_source, depth + 1)


def model_languages(spec: ModelSpec) -> tuple[str, ...] | None:
    """The languages the model of `spec` reads; None: any (never refused)."""
    if spec.languages is not None:
        return tuple(spec.languages)
    return _declared(spec.source)
