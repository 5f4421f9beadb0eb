"""The directory loading path of textlens.server.runtime.loading, on tiny random models.

These exercise exactly what `--model name=task:/path/to/hf-model` runs: config,
weights, fast tokenizer, labels by name, fingerprint and the errors a bad
source gives. The models come from the `tiny_models_dir` fixture (conftest).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from textlens.client.errors import ModelLoadError
from textlens.server.runtime.artifacts import DeltaMeta
from textlens.server.runtime.loading import (
    TASK_KIND,
    LoadedModel,
    build_network,
    directory_fingerprint,
    load_model,
)

CPU = torch.device("cpu")
SENTIMENT_LABELS = {0: "negative", 1: "positive"}
NER_LABELS = dict(
    enumerate(["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"])
)
TEXTS = ["Alice loved the movie in Paris.", "The acting was terrible and the plot dull!"]

#: (tiny model, task, labels it must come back with)
USABLE = [
    ("tiny-sequence", "sentiment", SENTIMENT_LABELS),
    ("tiny-sequence", "classify", SENTIMENT_LABELS),
    ("tiny-token", "ner", NER_LABELS),
    ("tiny-encoder", "embed", {}),
]


def copy_model(tiny_models_dir: dict[str, Path], name: str, dest: Path) -> Path:
    """A private copy of a tiny model, safe to modify."""
    return Path(shutil.copytree(tiny_models_dir[name], dest / name))


def load(source: Path | str, task: str, max_length: int | None = None) -> LoadedModel:
    return load_model(str(source), task, CPU, torch.float32, max_length)


# --------------------------------------------------------------------------
# Loading what each model is for
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "task", "labels"), USABLE)
def test_build_network(
    tiny_models_dir: dict[str, Path], name: str, task: str, labels: dict[int, str]
) -> None:
    directory = tiny_models_dir[name]
    network, tokenizer, id2label, version, max_length = build_network(str(directory), task)
    assert network.kind == TASK_KIND[task]
    assert network.casing is None
    assert id2label == labels
    assert all(isinstance(k, int) for k in id2label)
    assert version == directory_fingerprint(directory)
    assert max_length == 128
    assert tokenizer.is_fast


@pytest.mark.parametrize(("name", "task", "labels"), USABLE)
def test_load_model_runs(
    tiny_models_dir: dict[str, Path], name: str, task: str, labels: dict[int, str]
) -> None:
    model = load(tiny_models_dir[name], task)
    assert model.task == task
    assert model.source == str(tiny_models_dir[name])
    assert model.id2label == labels
    assert model.max_length == 128
    assert (model.device, model.dtype) == (CPU, torch.float32)
    assert not model.casing
    assert not model.network.training
    assert not any(p.requires_grad for p in model.network.parameters())

    batch = model.tokenizer(TEXTS, padding=True, return_tensors="pt", return_offsets_mapping=True)
    unk = model.tokenizer.unk_token_id
    assert unk not in batch["input_ids"].tolist()[0], "test text fell back to [UNK]"
    with torch.inference_mode():
        out = model.network(batch["input_ids"], batch["attention_mask"])
    rows, tokens = batch["input_ids"].shape
    expected = {
        "sequence": (rows, len(labels)),
        "token": (rows, tokens, len(labels)),
        "embed": (rows, 32),
    }[model.network.kind]
    assert tuple(out.shape) == expected
    assert torch.isfinite(out).all()


def test_offsets_index_the_text(tiny_models_dir: dict[str, Path]) -> None:
    model = load(tiny_models_dir["tiny-token"], "ner")
    text = TEXTS[0]
    enc = model.tokenizer(text, return_offsets_mapping=True)
    pieces = [text[s:e] for s, e in enc["offset_mapping"] if e > s]
    assert pieces == ["Alice", "loved", "the", "movie", "in", "Paris", "."]


@pytest.mark.parametrize(("asked", "expected"), [(None, 128), (64, 64), (4096, 128)])
def test_max_length_is_capped_by_positions(
    tiny_models_dir: dict[str, Path], asked: int | None, expected: int
) -> None:
    assert load(tiny_models_dir["tiny-sequence"], "sentiment", asked).max_length == expected


def test_load_model_in_bfloat16(tiny_models_dir: dict[str, Path]) -> None:
    model = load_model(str(tiny_models_dir["tiny-encoder"]), "embed", CPU, torch.bfloat16, None)
    assert model.dtype == torch.bfloat16
    assert {p.dtype for p in model.network.parameters()} == {torch.bfloat16}


def test_loading_is_deterministic(tiny_models_dir: dict[str, Path]) -> None:
    a = load(tiny_models_dir["tiny-sequence"], "sentiment")
    b = load(tiny_models_dir["tiny-sequence"], "sentiment")
    assert a.version == b.version
    for (name, pa), pb in zip(
        a.network.state_dict().items(), b.network.state_dict().values(), strict=True
    ):
        assert torch.equal(pa, pb), name


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError, match="does not exist") as err:
        load(missing, "sentiment")
    assert str(missing) in str(err.value)


def test_unknown_task(tiny_models_dir: dict[str, Path]) -> None:
    with pytest.raises(ModelLoadError, match=r"unknown task 'translate'.*sentiment"):
        build_network(str(tiny_models_dir["tiny-sequence"]), "translate")


def test_directory_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="could not load sentiment model") as err:
        load(tmp_path, "sentiment")
    assert str(tmp_path) in str(err.value)


def test_directory_without_weights(tiny_models_dir: dict[str, Path], tmp_path: Path) -> None:
    directory = copy_model(tiny_models_dir, "tiny-sequence", tmp_path)
    (directory / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="could not load sentiment model"):
        load(directory, "sentiment")


def test_unknown_hub_id_offline() -> None:
    with pytest.raises(ModelLoadError, match="Hugging Face hub"):
        load("textlens-tests/no-such-model", "sentiment")


def test_delta_for_another_task(tiny_models_dir: dict[str, Path], tmp_path: Path) -> None:
    delta = tmp_path / "ner-delta"
    delta.mkdir()
    meta = DeltaMeta(
        task="ner",
        kind="token",
        base_source=str(tiny_models_dir["tiny-encoder"]),
        base_sha256="0" * 64,
        id2label=NER_LABELS,
        lora_r=4,
        lora_alpha=8.0,
    )
    (delta / "textlens_model.json").write_text(json.dumps(meta.to_json()), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="is a ner model, not usable for sentiment"):
        load(delta, "sentiment")


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("tiny-encoder", "sentiment"),
        ("tiny-encoder", "ner"),
        ("tiny-sequence", "ner"),
        ("tiny-token", "sentiment"),
        ("tiny-token", "classify"),
    ],
)
def test_wrong_task(tiny_models_dir: dict[str, Path], name: str, task: str) -> None:
    with pytest.raises(ModelLoadError, match=task) as err:
        load(tiny_models_dir[name], task)
    assert str(tiny_models_dir[name]) in str(err.value)


@pytest.mark.parametrize("name", ["tiny-sequence", "tiny-token", "tiny-encoder"])
def test_any_encoder_checkpoint_embeds(tiny_models_dir: dict[str, Path], name: str) -> None:
    """A classifier checkpoint holds the encoder, so serving it for `embed` is fine."""
    assert load(tiny_models_dir[name], "embed").network.kind == "embed"


def test_corrupt_weights(tiny_models_dir: dict[str, Path], tmp_path: Path) -> None:
    directory = copy_model(tiny_models_dir, "tiny-sequence", tmp_path)
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelLoadError, match="could not load"):
        load(directory, "sentiment")


def test_directory_without_tokenizer(tiny_models_dir: dict[str, Path], tmp_path: Path) -> None:
    directory = copy_model(tiny_models_dir, "tiny-sequence", tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (directory / name).unlink()
    with pytest.raises(ModelLoadError, match="tokenizer"):
        load(directory, "sentiment")


def test_hub_id_with_a_dot_goes_to_the_hub() -> None:
    with pytest.raises(ModelLoadError, match="Hugging Face hub"):
        load("textlens-tests/no-such-model-v1.5", "embed")


# --------------------------------------------------------------------------
# Fingerprint (the `version` of a plain Hugging Face directory)
# --------------------------------------------------------------------------


def test_fingerprint_depends_on_content_not_place(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    original = tiny_models_dir["tiny-sequence"]
    copy = copy_model(tiny_models_dir, "tiny-sequence", tmp_path)
    fingerprint = directory_fingerprint(copy)
    assert len(fingerprint) == 12
    assert fingerprint == directory_fingerprint(original)
    (copy / "README.md").write_text("notes\n", encoding="utf-8")
    (copy / "training_args.bin").write_bytes(b"\0" * 16)
    assert directory_fingerprint(copy) == fingerprint
    for other in ("tiny-token", "tiny-encoder"):
        assert directory_fingerprint(tiny_models_dir[other]) != fingerprint


def test_fingerprint_changes_with_weights(tiny_models_dir: dict[str, Path], tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    directory = copy_model(tiny_models_dir, "tiny-sequence", tmp_path)
    before = directory_fingerprint(directory)
    weights = directory / "model.safetensors"
    tensors = load_file(str(weights))
    tensors["classifier.bias"] = tensors["classifier.bias"] + 1e-3
    save_file(tensors, str(weights), metadata={"format": "pt"})
    after = directory_fingerprint(directory)
    assert after != before
    model = load(directory, "sentiment")
    assert model.version == after
    loaded_bias = model.network.state_dict()["hf.classifier.bias"]
    assert torch.equal(loaded_bias, tensors["classifier.bias"])


def test_fingerprint_changes_with_config(tiny_models_dir: dict[str, Path], tmp_path: Path) -> None:
    directory = copy_model(tiny_models_dir, "tiny-sequence", tmp_path)
    before = directory_fingerprint(directory)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    config["id2label"] = {"0": "bad", "1": "good"}
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert directory_fingerprint(directory) != before
    assert load(directory, "sentiment").id2label == {0: "bad", 1: "good"}


def test_a_delta_refuses_base_weights_whose_sha256_changed(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    """A delta records its base's sha256 at training; a base that changed since (another
    download, a corrupted file) is refused with the fix, never silently merged."""
    from safetensors.torch import load_file, save_file

    from textlens.server.training.trainer import TrainConfig, train_text_classifier

    base = copy_model(tiny_models_dir, "tiny-encoder", tmp_path)
    rows = [(f"text number {i}", ("alpha", "beta")[i % 2]) for i in range(16)]
    cfg = TrainConfig(base=str(base), epochs=1, batch_size=8, max_length=16, evals_per_epoch=1)
    delta = tmp_path / "delta"
    train_text_classifier(rows, rows, "classify", delta, cfg)
    assert load(delta, "classify").version  # loads while the base is the one it was made on
    weights = base / "model.safetensors"
    tensors = load_file(str(weights))
    first = next(iter(tensors))
    tensors[first] = tensors[first] + 1e-3
    save_file(tensors, str(weights), metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=r"have sha256 [0-9a-f]{64}, expected [0-9a-f]{64}"):
        load(delta, "classify")
