"""Language screening in front of a model: detect first, ask the model only about the rest.

`screened` is the one place the language policy (`textlens.server.language.policy`)
meets a request. Detection runs on the Analyzer's detector thread, never on the
caller's (a gRPC event loop would otherwise stall ~0.1 s per 2,048 texts); the
texts it does not refuse are then submitted as before, and the answers are put
back in request order with a `NotScored` at each refused position. Refused texts
never reach the model's queue, tokenizer or length checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from textlens.contract.results import LanguageResult, NotScored
from textlens.server.language.policy import LanguagePolicy
from textlens.server.runtime.relay import mapped

#: The policy reads this many characters of a text: a language is plain long before,
#: and a 4 MB text under truncation=error must still be refused in milliseconds.
SCREEN_CHARS = 2000

Detect = Callable[[list[str]], "Future[list[LanguageResult]]"]
#: Submits the texts at the given positions; a future of their answers, in that order.
Run = Callable[[list[int]], "Future[list[Any]]"]


def screened(
    policy: LanguagePolicy | None,
    texts: Sequence[str],
    detect: Detect,
    run: Run,
    blank: NotScored | None = None,
) -> Future[list[Any]]:
    """Future of one answer per text: `NotScored` where `policy` refuses, else `run`'s.

    With `blank`, empty and whitespace-only texts get `blank` and are neither
    detected nor run: a model asked about nothing still answers with confidence
    (the default sentiment model read "" as +0.62 positive), and an opinion
    about no text is a mistake a dashboard would average in.

    Without a policy this is `run` over every position. Cancelling the returned
    future cancels the detection or the model's job, whichever is under way.
    """
    if blank is not None:
        filled = [i for i, text in enumerate(texts) if text.strip()]
        if len(filled) < len(texts):
            return _around_blanks(policy, texts, detect, run, blank, filled)
    if policy is None:
        return run(list(range(len(texts))))
    outer: Future[list[Any]] = Future()
    stages: list[Future[Any]] = [detect([text[:SCREEN_CHARS] for text in texts])]

    def cancel_stages(done: Future[list[Any]]) -> None:
        if done.cancelled():
            for stage in stages:
                stage.cancel()

    def finished(verdicts: list[Any], kept: list[int], inner: Future[list[Any]]) -> None:
        if outer.done():
            return
        if inner.cancelled():
            outer.cancel()
        elif (exc := inner.exception()) is not None:
            outer.set_exception(exc)
        else:
            out = list(verdicts)
            for i, answer in zip(kept, inner.result(), strict=True):
                out[i] = answer
            outer.set_result(out)

    def detected(done: Future[list[LanguageResult]]) -> None:
        if outer.done():
            return
        if done.cancelled():
            outer.cancel()
            return
        if (exc := done.exception()) is not None:
            outer.set_exception(exc)
            return
        verdicts: list[Any] = policy.verdicts(done.result())
        kept = [i for i, v in enumerate(verdicts) if v is None]
        if not kept:
            outer.set_result(verdicts)
            return
        try:
            inner = run(kept)
        except BaseException as exc:  # refused by length, queue full: the caller's error
            outer.set_exception(exc)
            return
        stages.append(inner)
        if outer.cancelled():  # cancelled while `run` submitted
            inner.cancel()
            return
        inner.add_done_callback(lambda f: finished(verdicts, kept, f))

    outer.add_done_callback(cancel_stages)
    stages[0].add_done_callback(detected)
    return outer


def _around_blanks(
    policy: LanguagePolicy | None,
    texts: Sequence[str],
    detect: Detect,
    run: Run,
    blank: NotScored,
    filled: list[int],
) -> Future[list[Any]]:
    """`screened` over the texts with words in them; `blank` at the others."""
    if not filled:
        done: Future[list[Any]] = Future()
        done.set_result([blank] * len(texts))
        return done
    inner = screened(
        policy, [texts[i] for i in filled], detect, lambda kept: run([filled[k] for k in kept])
    )

    def placed(found: list[Any]) -> list[Any]:
        out: list[Any] = [blank] * len(texts)
        for i, answer in zip(filled, found, strict=True):
            out[i] = answer
        return out

    return mapped(inner, placed)
