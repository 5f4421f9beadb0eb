"""Which languages a model reads (config, artifact, defaults) and what the policy refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from textlens.client.results import LanguageResult, NotScored
from textlens.server.language.detector import RELIABLE_CONFIDENCE
from textlens.server.language.policy import LanguagePolicy, screening
from textlens.server.runtime.artifacts import META_FILE, DeltaMeta, read_meta
from textlens.server.runtime.loading import builtin_models_dir
from textlens.server.runtime.model_languages import model_languages
from textlens.server.settings import ModelSpec, default_models, load_settings


def delta(root: Path, base: str, languages: list[str] | None = None) -> Path:
    """A delta directory's metadata (all `model_languages` reads), on `base`."""
    data = json.loads((builtin_models_dir() / "sentiment-minilm" / META_FILE).read_text("utf-8"))
    data["base"]["source"] = base
    data.pop("languages", None)
    if languages is not None:
        data["languages"] = languages
    root.mkdir(parents=True)
    (root / META_FILE).write_text(json.dumps(data), encoding="utf-8")
    return root


def test_the_default_models_read_english() -> None:
    for spec in default_models():
        assert model_languages(spec) == ("en",), spec.name


def test_declarations_and_their_order(tmp_path: Path, tiny_models_dir: dict[str, Path]) -> None:
    trained = delta(tmp_path / "mine", "builtin:sentiment-minilm")  # a `textlens train` output
    stacked = delta(tmp_path / "stacked", str(trained))  # a delta on that delta
    multi = delta(tmp_path / "multi", "builtin:minilm", ["en", "de"])
    hub_base = delta(tmp_path / "on-hub", "some-org/multilingual-encoder")

    def spec(source: Path | str, **extra: object) -> ModelSpec:
        return ModelSpec(name="m", task="sentiment", source=str(source), **extra)  # type: ignore[arg-type]

    assert model_languages(spec(trained)) == ("en",)
    assert model_languages(spec(stacked)) == ("en",)
    assert model_languages(spec(multi)) == ("en", "de")
    assert model_languages(spec(hub_base)) is None
    assert model_languages(spec(tiny_models_dir["tiny-sequence"])) is None  # a plain HF dir
    assert model_languages(spec("ProsusAI/finbert")) is None  # a hub id: nothing downloaded
    # The server's configuration wins over the artifact and the defaults.
    assert model_languages(spec(multi, languages=["FR"])) == ("fr",)
    assert model_languages(spec("builtin:sentiment-minilm", languages=["en", "es"])) == (
        "en",
        "es",
    )


def test_artifacts_without_the_field_still_read(tmp_path: Path) -> None:
    old = delta(tmp_path / "old", "builtin:minilm")
    meta = read_meta(old)
    assert meta.languages is None and "languages" not in meta.to_json()
    meta.languages = ["en"]
    assert DeltaMeta.from_json(meta.to_json()).languages == ["en"]


def test_spec_checks_codes() -> None:
    with pytest.raises(ValidationError, match="ISO 639"):
        ModelSpec(name="m", task="sentiment", source="x", languages=["english"])
    with pytest.raises(ValidationError):
        ModelSpec(name="m", task="sentiment", source="x", other_languages="drop")  # type: ignore[arg-type]


def test_toml_configures_the_policy(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[[models]]\nname = "s"\ntask = "sentiment"\nsource = "builtin:sentiment-minilm"\n'
        'languages = ["en", "de"]\nother_languages = "score"\n',
        encoding="utf-8",
    )
    (spec,) = load_settings(config).models
    assert spec.languages == ["en", "de"] and spec.other_languages == "score"
    assert screening("sentiment", spec, model_languages(spec)) is None  # "score": no screening


def test_only_a_reliable_other_language_is_refused() -> None:
    spec = ModelSpec(name="m", task="sentiment", source="builtin:sentiment-minilm")
    policy = screening("sentiment", spec, ("en",))
    assert isinstance(policy, LanguagePolicy) and policy.threshold == RELIABLE_CONFIDENCE
    assert policy.verdict(LanguageResult("und", 0.0, False)) is None
    assert policy.verdict(LanguageResult("de", RELIABLE_CONFIDENCE - 0.01, False)) is None
    assert policy.verdict(LanguageResult("en", 0.99, True)) is None
    assert policy.verdict(LanguageResult("de", RELIABLE_CONFIDENCE, True)) == NotScored(
        "language", "de", RELIABLE_CONFIDENCE
    )
    # Embeddings and classify are always computed; a model reading any language too.
    assert screening("embed", spec, ("en",)) is None
    assert screening("sentiment", spec, None) is None
