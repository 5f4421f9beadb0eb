"""clean_for_detection keeps the words and drops finance tokens that carry no language."""

from __future__ import annotations

from textlens.server.language.clean import clean_for_detection


def test_drops_cashtags_tickers_numbers_urls_mentions_emoji() -> None:
    text = "$TSLA up +3.5% to $120.50!!! 🚀🚀 NVDA https://t.co/xyz @elonmusk #earnings"
    assert clean_for_detection(text) == "up to earnings"


def test_keeps_words_of_shouted_headlines_lowercased() -> None:
    assert clean_for_detection("STOCKS RALLY AS FED CUTS RATES") == "stocks rally as fed cuts rates"


def test_keeps_non_latin_text_and_pronoun_i() -> None:
    assert clean_for_detection("特斯拉股价上涨 5%") == "特斯拉股价上涨"
    assert clean_for_detection("I think AAPL is a buy at 150") == "i think is a buy at"


def test_unescapes_html_entities_and_lowercases() -> None:
    assert clean_for_detection("$AMD don&#39;t SELL &amp; Hold") == "don't hold"


def test_only_tokens_left_gives_empty() -> None:
    assert clean_for_detection("$BTC.X 🚀 1,200") == ""
