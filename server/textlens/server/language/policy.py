"""Which languages a served model reads, and which texts it is therefore not asked about.

The default models are fine-tunes of an English MiniLM: a German or Chinese
headline gets a confident English label that means nothing. The policy
(docs/language.md, "Policy"): sentiment, aspect sentiment and entities answer
`NotScored` for a text the detector places, *reliably* (confidence at or above
`RELIABLE_CONFIDENCE`), in a language the model does not read. `und` and
unreliable guesses are scored as before, because short English finance posts
(`$TSLA up 4.2%`) get low-confidence guesses: refusing only confident other
languages refuses 0.40% of English rows, where requiring confident English would
refuse 22%.

A model's languages (`textlens.server.runtime.model_languages`), first that applies:
1. `ModelSpec.languages` (the server's configuration wins);
2. `languages` in its `textlens_model.json` (a delta that declares them);
3. ["en"] for the packaged English MiniLM and anything trained on it
   (`builtin:*` sources, deltas whose base is one, registered fine-tunes);
4. none: a hub or local model that declares nothing reads any language and is
   never refused (a user serving a multilingual model sets `languages` to
   restrict it, or leaves it open).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textlens.contract.results import NOT_SCORED_LANGUAGE, LanguageResult, NotScored
from textlens.server.settings import ModelSpec

#: The tasks the policy applies to (embeddings and classify are always computed).
SCREENED_TASKS = frozenset({"sentiment", "aspect", "ner"})


@dataclass(frozen=True)
class LanguagePolicy:
    """The languages one model reads, and what its answer is for a text in another."""

    languages: tuple[str, ...]
    threshold: float

    def verdict(self, found: LanguageResult) -> NotScored | None:
        """`NotScored` when `found` is reliable and not a language the model reads."""
        if found.confidence < self.threshold or found.language in self.languages:
            return None
        return NotScored(NOT_SCORED_LANGUAGE, found.language, found.confidence)

    def verdicts(self, found: Sequence[LanguageResult]) -> list[NotScored | None]:
        return [self.verdict(f) for f in found]


def screening(
    task: str, spec: ModelSpec, languages: tuple[str, ...] | None
) -> LanguagePolicy | None:
    """The policy a request to this model goes through; None when no text can be refused
    (another task, a model that reads any language, or `other_languages = "score"`)."""
    from textlens.server.language.detector import RELIABLE_CONFIDENCE

    if task not in SCREENED_TASKS or languages is None or spec.other_languages == "score":
        return None
    return LanguagePolicy(languages, RELIABLE_CONFIDENCE)
