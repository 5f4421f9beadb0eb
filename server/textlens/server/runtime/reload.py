"""Serving the model registry directory, and swapping in new versions without a restart.

The server serves every model of `settings.models` plus each registered model
(`textlens train --register NAME`) at its current version. `Reloader.reload`
re-reads the registry, loads every model whose current version changed (or
that is new) next to the running ones, warms it up, and then swaps them all
in at once (`ModelRegistry.swap`). Requests that picked a model before the
swap finish on it: its batcher is closed only `retire_seconds` later, and a
closing batcher still computes everything queued. A model that fails to load
aborts the whole reload and nothing changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from textlens.contract.errors import ModelLoadError, UnknownModel
from textlens.contract.results import ModelReload
from textlens.server.model_store import ModelStore, RegistryError
from textlens.server.runtime.registry import ModelRegistry, ServedModel
from textlens.server.settings import ModelSpec, ServerSettings

log = logging.getLogger(__name__)


def registry_specs(settings: ServerSettings) -> list[ModelSpec]:
    """A ModelSpec per registered model, at its current version (none without a registry)."""
    if settings.registry is None:
        return []
    try:
        entries = ModelStore(settings.registry).entries()
    except (RegistryError, OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the model registry {settings.registry}: {exc}") from exc
    return [
        ModelSpec.model_validate({"name": e.name, "task": e.task, "source": str(e.path)})
        for e in entries
    ]


def checked_registry_specs(settings: ServerSettings) -> list[ModelSpec]:
    """`registry_specs`, refusing a registered name that a configured model already has."""
    specs = registry_specs(settings)
    clash = sorted({m.name for m in settings.models} & {s.name for s in specs})
    if clash:
        raise ModelLoadError(
            f"models {clash} are both configured and registered in {settings.registry}; "
            "rename one of them"
        )
    return specs


def served_specs(settings: ServerSettings) -> list[ModelSpec]:
    """The configured models plus the registered ones; a name may not be both."""
    return [*settings.models, *checked_registry_specs(settings)]


class Reloader:
    """Brings the served registry models up to the registry directory's current versions."""

    def __init__(self, registry: ModelRegistry, settings: ServerSettings) -> None:
        self.registry = registry
        self.settings = settings
        self._lock = threading.Lock()  # one reload at a time

    def reload(self, names: Sequence[str] = ()) -> list[ModelReload]:
        """Reload `names` (empty: every registered model); return each one's outcome."""
        if self.settings.registry is None:
            raise ModelLoadError(
                "this server has no model registry; start it with [server] registry = DIR "
                "(or TEXTLENS_REGISTRY) to reload registered models"
            )
        with self._lock:
            specs = {s.name: s for s in checked_registry_specs(self.settings)}
            unknown = sorted(set(names) - set(specs))
            if unknown:
                raise UnknownModel(
                    f"models {unknown} are not registered in this server's registry; "
                    f"registered: {', '.join(sorted(specs)) or 'none'}"
                )
            wanted = [specs[n] for n in (names or sorted(specs))]
            loaded: list[ServedModel] = []
            outcomes: list[ModelReload] = []
            try:
                for spec in wanted:
                    current = self.registry.models.get(spec.name)
                    if current is not None and current.spec.source == spec.source:
                        outcomes.append(
                            ModelReload(spec.name, current.version, current.version, spec.source)
                        )
                        continue
                    model = self.registry.serve(spec)
                    loaded.append(model)
                    model.warm_up()
                    previous = current.version if current is not None else ""
                    outcomes.append(ModelReload(spec.name, previous, model.version, spec.source))
            except BaseException:
                for model in loaded:
                    model.batcher.close(0)
                raise
            retired = self.registry.swap(loaded)
        for out in outcomes:
            if out.changed:
                log.info(
                    "reloaded %s: %s -> %s (%s)",
                    out.name,
                    out.previous_version or "new",
                    out.version,
                    out.source,
                )
        if retired:
            timer = threading.Timer(self.settings.retire_seconds, self._retire, (retired,))
            timer.daemon = True
            timer.start()
        return outcomes

    def watch_once(self, last_error: str = "") -> str:
        """One poll of the registry (the file watch): reload what changed, never raise.

        Returns the error of this poll ("" when fine), so the caller logs a
        broken version once rather than on every poll; the old version keeps
        serving meanwhile.
        """
        try:
            self.reload()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if error != last_error:
                log.error(
                    "registry watch: reload failed, still serving the old versions: %s", error
                )
            return error
        return ""

    @staticmethod
    def _retire(models: list[ServedModel]) -> None:
        for model in models:
            model.batcher.close()
            log.info("retired %s version %s", model.name, model.version)
