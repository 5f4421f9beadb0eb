"""The mention rule and the clause scope of target-level sentiment (no model needed)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="the runtime needs the `models` extra")

from textlens.server.runtime.aspects import clauses, mentions, pair_input, scope


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("Tesla shares jump", "Tesla", True),
        ("tesla shares jump", "TESLA", True),  # case-insensitive
        ("Teslas everywhere", "Tesla", True),  # plural
        ("Apple's iPhones sell", "Apple", True),  # possessive
        ("Apple’s iPhones sell", "Apple", True),  # typographic apostrophe
        ("The batteries died", "battery", False),  # no stemming beyond s/es
        ("Pineapple prices rise", "apple", False),  # whole words only
        ("New   York traders", "new york", True),  # any run of white space
        ("The screen is fine", "", False),
        ("The screen is fine", "   ", False),
        ("C++ (and C#) compilers", "C#", True),  # regex characters are literal
        ("", "price", False),
    ],
)
def test_mentions(text: str, target: str, expected: bool) -> None:
    assert mentions(text, target) is expected


def test_clauses_break_at_sentences_semicolons_and_contrast_words() -> None:
    assert clauses("Tesla shares jump while Ford slips on weak guidance") == [
        "Tesla shares jump",
        "while Ford slips on weak guidance",
    ]
    assert clauses("Gold shines on seasonal demand; Silver dull") == [
        "Gold shines on seasonal demand",
        "Silver dull",
    ]
    assert clauses("Great screen. Awful battery!") == ["Great screen.", "Awful battery!"]
    assert clauses("Butter prices fell") == ["Butter prices fell"]  # "but" as a word only


def test_scope_keeps_the_clauses_about_the_target() -> None:
    text = "The battery is great but the screen scratches easily"
    assert pair_input(text, "battery") == ("The battery is great", "battery")
    assert pair_input(text, " screen ") == ("but the screen scratches easily", "screen")
    # Not mentioned in any clause, or one clause only: the whole text.
    assert scope(text, "price") == text
    assert scope("Tesla rallied", "Tesla") == "Tesla rallied"
    # Mentioned in two clauses: both, in order.
    both = scope("Ford rose; GM fell; Ford guided higher", "Ford")
    assert both == "Ford rose Ford guided higher"


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("$TSLA up 4% after deliveries", "$TSLA", True),
        ("TSLA up 4% after deliveries", "$TSLA", True),
        ("#TSLA to the moon", "$TSLA", True),
        ("$tsla up", "$TSLA", True),  # the cashtag itself ignores case
        ("tsla up", "$TSLA", False),  # a bare ticker must be in capitals...
        ("turn it on now", "$ON", False),  # ...or $ON would match "on"
        ("ON Semi beats", "$ON", True),
        ("$TSLAQ is a meme", "$TSLA", False),
        ("BRK.B holds up", "$BRK.B", True),
        ("$AMZN dips", "AMZN", True),
        ("Tesla slips", "$TSLA", False),  # names are not tickers: ask for both
    ],
)
def test_cashtag_targets_match_how_posts_write_tickers(
    text: str, target: str, expected: bool
) -> None:
    assert mentions(text, target) is expected
