"""The model registry directory: named models, numbered versions, one current version each.

    REGISTRY/
      finance-trend/
        v1/            a textlens delta (textlens_model.json, delta.safetensors) + report
        v2/
        CURRENT        "v2": the version the server serves
      .staging/        runs in progress (never served)

`textlens train --register NAME` trains into `.staging/` and only a finished,
evaluated model is renamed to the next `vN` (a rename within one file system
is atomic), so a failed or interrupted run leaves the registry as it was.
Promotion rewrites CURRENT through a temporary file and `os.replace`, so a
reader (the server's reload) sees the old or the new version, never half of
one. Versions are never modified after publication; older ones stay for
rollback (`promote(name, "v1")`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from textlens.server import model_staging

CURRENT_FILE = "CURRENT"
#: = textlens.server.runtime.artifacts.META_FILE; not imported, so this module needs no torch.
META_FILE = "textlens_model.json"
STAGING_DIR = ".staging"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
VERSION = re.compile(r"^v(\d+)$")


class RegistryError(ValueError):
    """The registry directory or a name/version in it is not usable."""


def is_delta_dir(path: Path) -> bool:
    return (path / META_FILE).is_file()


def task_of(path: Path) -> str:
    """The task a registered model directory was trained for."""
    try:
        return str(json.loads((path / META_FILE).read_text(encoding="utf-8"))["task"])
    except (OSError, ValueError, KeyError) as exc:
        raise RegistryError(f"{path / META_FILE} is not a readable textlens model: {exc}") from exc


@dataclass(frozen=True)
class StoreEntry:
    """A registered model's current version."""

    name: str
    version: str
    path: Path
    task: str


class ModelStore:
    """A registry directory (created on first publication)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser()

    def _model_dir(self, name: str) -> Path:
        if not NAME.match(name):
            raise RegistryError(
                f"model name {name!r} is not valid: use letters, digits, '.', '_' and '-', "
                "starting with a letter or digit"
            )
        return self.root / name

    def versions(self, name: str) -> list[str]:
        """Published versions of `name`, oldest first."""
        directory = self._model_dir(name)
        if not directory.is_dir():
            return []
        found = [
            (int(m.group(1)), p.name) for p in directory.iterdir() if (m := VERSION.match(p.name))
        ]
        return [v for _, v in sorted(found)]

    def current(self, name: str) -> tuple[str, Path] | None:
        """(version, directory) that `name` serves, or None when it is not registered."""
        marker = self._model_dir(name) / CURRENT_FILE
        if not marker.is_file():
            return None
        version = marker.read_text(encoding="utf-8").strip()
        path = self.root / name / version
        if not VERSION.match(version) or not is_delta_dir(path):
            raise RegistryError(f"{marker} names {version!r}, which is not a published version")
        return version, path

    def entries(self) -> list[StoreEntry]:
        """Every registered model at its current version, by name."""
        if not self.root.is_dir():
            return []
        out = []
        for directory in sorted(self.root.iterdir()):
            if directory.name.startswith(".") or not directory.is_dir():
                continue
            found = self.current(directory.name)
            if found is not None:
                version, path = found
                out.append(StoreEntry(directory.name, version, path, task_of(path)))
        return out

    def names(self) -> list[str]:
        """Registered models (a valid name and a CURRENT file), sorted."""
        if not self.root.is_dir():
            return []
        return [
            d.name
            for d in sorted(self.root.iterdir())
            if NAME.match(d.name) and d.is_dir() and (d / CURRENT_FILE).is_file()
        ]

    def fallbacks(self, name: str) -> tuple[list[StoreEntry], list[str]]:
        """The versions to try serving `name` from, best first, and why others were passed over.

        The current version first, then the published versions older than it,
        newest first: a version newer than CURRENT was never promoted, so it is
        no fallback. A server starts on the first that loads, so one broken
        version (CURRENT naming a missing or half-copied one) costs that model
        a rollback, not the whole server its start.
        """
        directory = self._model_dir(name)
        marker = directory / CURRENT_FILE
        try:
            named = marker.read_text(encoding="utf-8").strip()
        except OSError as exc:
            named = ""
            notes = [f"{marker} cannot be read ({exc})"]
        else:
            notes = []
        published = self.versions(name)
        match = VERSION.match(named)
        below = int(match.group(1)) if match else None
        order = [named] if named in published else []
        if not order and named:
            notes.append(f"CURRENT names {named!r}, which is not a published version")
        order += [
            v for v in reversed(published) if v != named and (below is None or int(v[1:]) < below)
        ]
        entries = []
        for version in order:
            path = directory / version
            if not is_delta_dir(path):
                notes.append(f"{version} holds no {META_FILE}")
                continue
            try:
                entries.append(StoreEntry(name, version, path, task_of(path)))
            except RegistryError as exc:
                notes.append(f"{version}: {exc}")
        return entries, notes

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh directory to train into; removed if the block raises (or was not published).

        Directories left by killed runs are removed first (`model_staging.py`)."""
        base = self.root / STAGING_DIR
        base.mkdir(parents=True, exist_ok=True)
        model_staging.sweep(base)
        path = Path(tempfile.mkdtemp(prefix="run-", dir=base))
        try:
            model_staging.claim(path)
            yield path
        finally:
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)
            model_staging.release(path)

    def publish(self, name: str, staged: Path, promote: bool = True) -> str:
        """Move a finished model directory in as the next version; make it current if `promote`."""
        if not is_delta_dir(staged):
            raise RegistryError(f"{staged} holds no textlens model; nothing to register")
        directory = self._model_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        while True:
            existing = self.versions(name)
            number = int(existing[-1][1:]) + 1 if existing else 1
            target = directory / f"v{number}"
            try:
                target.mkdir()  # claims the number against a concurrent publisher
            except FileExistsError:
                continue
            staged.chmod(0o755)  # mkdtemp made it private; a server may run as another user
            os.replace(staged, target)  # an empty directory is replaced atomically
            break
        if promote:
            self.promote(name, target.name)
        return target.name

    def promote(self, name: str, version: str) -> None:
        """Make `version` the one served (atomically)."""
        directory = self._model_dir(name)
        if not is_delta_dir(directory / version):
            raise RegistryError(
                f"{name} has no version {version!r}; versions: {self.versions(name)}"
            )
        fd, tmp = tempfile.mkstemp(prefix=".current-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, directory / CURRENT_FILE)
