"""The enrich bar reaches 100% when every function of the query has finished its rows,
not when the fastest one has (it used to show 100% half a minute before the end)."""

from __future__ import annotations

from typing import Any

from textlens.connectors.duckdb.progress import RowProgress


class Listeners:
    """What RowProgress needs of a registration: a listener list."""

    def __init__(self) -> None:
        self.listeners: list[Any] = []

    def add_listener(self, listener: Any) -> None:
        self.listeners.append(listener)

    def remove_listener(self, listener: Any) -> None:
        self.listeners.remove(listener)


def test_rows_count_once_every_function_has_finished_them() -> None:
    registration = Listeners()
    with RowProgress(registration, ["sentiment", "embed"], 4096, disable=True) as bar:  # type: ignore[arg-type]
        (listener,) = registration.listeners
        listener("sentiment", 2048)
        listener("sentiment", 2048)
        assert bar.rows == 0  # embed has not finished any chunk yet
        listener("embed", 2048)
        assert bar.rows == 2048
        listener("language", 2048)  # a function the bar does not count
        listener("embed", 2048)
        assert bar.rows == 4096
    assert registration.listeners == []


def test_one_function_counts_as_before() -> None:
    registration = Listeners()
    with RowProgress(registration, "sentiment", 10, disable=True) as bar:  # type: ignore[arg-type]
        registration.listeners[0]("sentiment", 10)
        assert bar.rows == 10
