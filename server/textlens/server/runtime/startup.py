"""Loading what a server serves at start: one broken registered model stops only itself.

Configured models (`[[models]]`) are the operator's own lines: one that does
not load stops the start, loudly, as before. Registered models are whatever
the registry directory holds, and a half-copied version or a CURRENT naming a
missing one used to take every model down with it at the next restart (hot
reload already kept the old version). Now each registered model is served
from the first version that loads, the current one first, then older ones,
newest first (`ModelStore.fallbacks`); a fallback says so in the log and in
`ListModels` (its `backend_reason` and `source`), and a model none of whose
versions loads is left out: logged, `NOT_SERVING` in its per-model health
(`textlens.v1.TextAnalysis/NAME`), and named in the error a call to it gets.
"""

from __future__ import annotations

import logging

from textlens.contract.errors import ModelLoadError
from textlens.server.model_store import ModelStore, RegistryError
from textlens.server.runtime.registry import ModelLoader, ModelRegistry, ServedModel
from textlens.server.settings import ModelSpec, ServerSettings

log = logging.getLogger(__name__)


def serve_registered(
    store: ModelStore, name: str, registry: ModelRegistry
) -> tuple[ServedModel | None, str]:
    """(the model from the first version of `name` that loads and runs, or None; why not)."""
    candidates, failures = store.fallbacks(name)
    for entry in candidates:
        spec = ModelSpec.model_validate(
            {"name": name, "task": entry.task, "source": str(entry.path)}
        )
        try:
            model = registry.serve(spec)
        except Exception as exc:  # a corrupt version: try the next one
            failures.append(f"{entry.version} did not load ({type(exc).__name__}: {exc})")
            log.error("registered model %s %s could not be loaded: %s", name, entry.version, exc)
            continue
        try:
            model.warm_up()
        except Exception as exc:
            model.batcher.close(0)
            failures.append(f"{entry.version} failed its warm-up ({type(exc).__name__}: {exc})")
            log.error("registered model %s %s failed its warm-up: %s", name, entry.version, exc)
            continue
        if failures:
            model.note = f"serving {entry.version}, not the current version: " + "; ".join(failures)
            log.warning("registered model %s: %s", name, model.note)
        return model, ""
    why = "; ".join(failures) or "it has no published version"
    log.error("registered model %s is not served, no version of it loads: %s", name, why)
    return None, why


def load_registry(settings: ServerSettings, loader: ModelLoader) -> ModelRegistry:
    """The configured models, then every registered one that has a version that loads."""
    registry = ModelRegistry.load(settings.models, settings, loader=loader)
    if settings.registry is None:
        return registry
    store = ModelStore(settings.registry)
    try:
        names = store.names()
    except (RegistryError, OSError) as exc:
        raise ModelLoadError(f"cannot read the model registry {settings.registry}: {exc}") from exc
    clash = sorted({m.name for m in settings.models} & set(names))
    if clash:
        raise ModelLoadError(
            f"models {clash} are both configured and registered in {settings.registry}; "
            "rename one of them"
        )
    served: list[ServedModel] = []
    unserved: dict[str, str] = {}
    for name in names:
        model, why = serve_registered(store, name, registry)
        if model is None:
            unserved[name] = why
        else:
            log.info(
                "loaded registered model %s (task=%s source=%s) in %.2fs",
                name,
                model.spec.task,
                model.spec.source,
                model.load_seconds,
            )
            served.append(model)
    registry.swap(served)
    registry.unserved.update(unserved)
    return registry
