"""The model registry: the only process-wide mutable state textlens has.

It loads every configured model once per device, puts a batcher in front of
each, and answers "which model serves this task under this name". How a spec
becomes a model on an engine is not the runtime's business: the caller passes a
`ModelLoader` (`textlens.server.assembly` passes the inference backends'
`load_task_model`), so the runtime imports no backend.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from textlens.contract.errors import ModelLoadError, UnknownModel, WrongTask
from textlens.contract.results import ModelInfo
from textlens.server.language.policy import LanguagePolicy, screening
from textlens.server.runtime.batcher import Batcher
from textlens.server.runtime.context import InferenceContext, inference_context
from textlens.server.runtime.model_languages import model_languages
from textlens.server.runtime.tasks import EmbedModel, TaskModel
from textlens.server.settings import ModelSpec, RuntimeSettings

log = logging.getLogger(__name__)

#: Loads one configured model onto the engine it runs on, with the runtime's shared context.
ModelLoader = Callable[[ModelSpec, InferenceContext], TaskModel]


#: A name nobody serves is quoted in the error up to this many characters (it is the
#: caller's string: a 32 MB name must not come back, or reach a log, whole).
QUOTED_NAME_CHARS = 64


def _quoted(name: str) -> str:
    return repr(name[:QUOTED_NAME_CHARS]) + ("..." if len(name) > QUOTED_NAME_CHARS else "")


@dataclass
class ServedModel:
    """A loaded model, its batcher and how it was configured."""

    spec: ModelSpec
    model: TaskModel
    batcher: Batcher
    load_seconds: float
    is_default: bool = False
    #: Why this is not the version asked for (a registered model fell back at start), or "".
    note: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.model.loaded.version

    @functools.cached_property
    def languages(self) -> tuple[str, ...] | None:
        """The languages the model reads; None: any (`textlens.server.language.policy`)."""
        return model_languages(self.spec)

    @functools.cached_property
    def policy(self) -> LanguagePolicy | None:
        """What its requests go through; None when no text is refused for its language."""
        return screening(self.spec.task, self.spec, self.languages)

    def warm_up(self, timeout: float = 120) -> None:
        """One real forward pass, so "loaded" means the device works (health, reloads)."""
        self.batcher.submit([self.model.warm_up_input], "truncate").result(timeout=timeout)

    def info(self) -> ModelInfo:
        loaded = self.model.loaded
        engine = loaded.run
        selection = loaded.selection
        return ModelInfo(
            name=self.name,
            task=self.spec.task,
            labels=list(self.model.labels),
            version=loaded.version,
            device=engine.device,
            dtype=engine.dtype,
            max_length=loaded.max_length,
            source=loaded.source,
            is_default=self.is_default,
            dim=self.model.dim if isinstance(self.model, EmbedModel) else 0,
            backend=engine.backend,
            backend_reason="; ".join(
                part for part in (self.note, selection.reason if selection else "") if part
            ),
            languages=list(self.languages or ()),
            other_languages=self.spec.other_languages,
        )


def serve_model(spec: ModelSpec, context: InferenceContext, loader: ModelLoader) -> ServedModel:
    """Load one model onto its engine and start its batcher."""
    started = time.monotonic()
    model = loader(spec, context)
    batcher = Batcher(
        model,
        max_batch_tokens=spec.max_batch_tokens,
        max_wait_ms=spec.max_wait_ms,
        max_queue_texts=spec.max_queue_texts,
    )
    return ServedModel(spec, model, batcher, time.monotonic() - started)


class ModelRegistry:
    """Served models by name, and each task's default."""

    def __init__(
        self,
        served: Iterable[ServedModel],
        context: InferenceContext | None = None,
        loader: ModelLoader | None = None,
    ) -> None:
        #: The cache, threads and CPU lock every model of this registry shares (reloads too).
        self.context = context or inference_context()
        #: What loads a new model or version (reloads, registered models); None: this
        #: registry only serves the models it was built over.
        self.loader = loader
        self._swap_lock = threading.Lock()
        self.models, self.defaults = self._index(served)
        #: Registered models that no version of loaded at start: name -> why (startup.py).
        self.unserved: dict[str, str] = {}

    @staticmethod
    def _index(served: Iterable[ServedModel]) -> tuple[dict[str, ServedModel], dict[str, str]]:
        models: dict[str, ServedModel] = {}
        defaults: dict[str, str] = {}
        for model in served:
            models[model.name] = model
        for model in models.values():
            if model.spec.default:
                defaults[model.spec.task] = model.name
        for model in models.values():
            defaults.setdefault(model.spec.task, model.name)
        for model in models.values():
            model.is_default = defaults.get(model.spec.task) == model.name
        for task, name in defaults.items():
            log.debug("default %s model: %s", task, name)
        return models, defaults

    def swap(self, replacements: Iterable[ServedModel]) -> list[ServedModel]:
        """Serve `replacements` (new names or new versions); return the models they replace.

        Atomic for readers: `models` and `defaults` are rebuilt aside and then
        bound in one assignment each, so a request sees the old or the new
        table. The replaced models keep their batchers; the caller closes them
        once the requests that already picked them are done.
        """
        with self._swap_lock:
            new = dict(self.models)
            retired = []
            for model in replacements:
                old = new.get(model.name)
                if old is not None:
                    if old.spec.task != model.spec.task:
                        raise WrongTask(
                            f"model {model.name!r} serves {old.spec.task}; a {model.spec.task} "
                            "model cannot replace it (register it under another name)"
                        )
                    retired.append(old)
                new[model.name] = model
            models, defaults = self._index(new.values())
            self.models = models
            self.defaults = defaults
            self.unserved = {n: why for n, why in self.unserved.items() if n not in models}
        return retired

    def serve(self, spec: ModelSpec) -> ServedModel:
        """Load `spec` with this registry's loader and context (not yet served: see `swap`)."""
        if self.loader is None:
            raise ModelLoadError(
                f"cannot load {spec.name!r}: this registry was built over loaded models and "
                "has no model loader"
            )
        return serve_model(spec, self.context, self.loader)

    @classmethod
    def load(
        cls,
        specs: Iterable[ModelSpec],
        runtime: RuntimeSettings | None = None,
        *,
        loader: ModelLoader,
    ) -> ModelRegistry:
        """Load `specs` (threads and cache from `runtime`, else the TEXTLENS_ environment)."""
        context = inference_context(runtime)
        served = []
        for spec in specs:
            model = serve_model(spec, context, loader)
            info = model.info()
            log.info(
                "loaded model %s (task=%s source=%s %s/%s on %s max_length=%d version=%s) in %.2fs",
                info.name,
                info.task,
                info.source,
                info.backend,
                info.dtype,
                info.device,
                info.max_length,
                info.version,
                model.load_seconds,
            )
            served.append(model)
        context.deferred.release()  # every model serves: the background measurements may start
        return cls(served, context, loader)

    def get(self, task: str, name: str = "") -> ServedModel:
        """The model serving `task` under `name` (empty: the task's default)."""
        if not name:
            default = self.defaults.get(task)
            if default is None:
                raise UnknownModel(
                    f"no {task} model is served; configure one (served: {self.describe()})"
                )
            return self.models[default]
        model = self.models.get(name)
        if model is None and name in self.unserved:
            raise UnknownModel(
                f"model {name!r} is registered but not served: no version of it loaded at "
                f"start ({self.unserved[name]}); fix the registry and reload (textlens reload)"
            )
        if model is None:
            raise UnknownModel(f"no model named {_quoted(name)}; served models: {self.describe()}")
        if model.spec.task != task:
            raise WrongTask(
                f"model {name!r} serves {model.spec.task}, not {task}; "
                f"{task} models: {', '.join(self.names(task)) or 'none'}"
            )
        return model

    def names(self, task: str) -> list[str]:
        return [n for n, m in self.models.items() if m.spec.task == task]

    def describe(self) -> str:
        return ", ".join(f"{n} ({m.spec.task})" for n, m in self.models.items()) or "none"

    def infos(self) -> list[ModelInfo]:
        return [m.info() for m in self.models.values()]

    def close(self, timeout: float | None = None) -> None:
        self.context.deferred.close()
        for model in self.models.values():
            model.batcher.close(timeout)
