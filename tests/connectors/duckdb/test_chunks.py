"""Chunk planning: NULLs, duplicates and option groups, on arrow arrays (no DuckDB)."""

from __future__ import annotations

import pytest

pa = pytest.importorskip("pyarrow")

from textlens.connectors.duckdb.chunks import plan_chunk  # noqa: E402


def rows_of(plan_slots: object, items: list[object]) -> list[object]:
    """Each row's item through its slot (None for NULL rows)."""
    return [None if s is None else items[s] for s in plan_slots.to_pylist()]  # type: ignore[attr-defined]


def test_duplicates_become_one_item_and_nulls_no_item() -> None:
    texts = pa.array(["b", None, "a", "b", "", "a", None])
    plan = plan_chunk([texts, pa.array([""] * 7)])
    assert plan.size == 7 and plan.nulls == 2
    assert len(plan.groups) == 1 and plan.groups[0].options == ("",)
    items = plan.groups[0].texts
    assert sorted(items) == ["", "a", "b"]
    assert rows_of(plan.slots, items) == texts.to_pylist()


def test_chunked_input_and_unicode() -> None:
    texts = pa.chunked_array([["é😀", "x"], ["é😀", None]])
    plan = plan_chunk([texts, pa.chunked_array([["m", "m"], ["m", "m"]])])
    assert rows_of(plan.slots, plan.groups[0].texts) == ["é😀", "x", "é😀", None]


def test_rows_group_by_option_values() -> None:
    texts = pa.array(["t1", "t2", "t1", "t1", "t3"])
    models = pa.array(["m2", "m1", "m1", "m2", None])
    plan = plan_chunk([texts, models])
    assert plan.nulls == 1
    by_model = {g.options: g.texts for g in plan.groups}
    assert sorted(by_model) == [("m1",), ("m2",)]
    assert sorted(by_model[("m1",)]) == ["t1", "t2"] and by_model[("m2",)] == ["t1"]
    items = [(g.options[0], t) for g in plan.groups for t in g.texts]
    got = rows_of(plan.slots, items)
    assert got == [("m2", "t1"), ("m1", "t2"), ("m1", "t1"), ("m2", "t1"), None]


def test_list_options_decode_exactly() -> None:
    texts = pa.array(["a", "a", "a", "a", "a"])
    labels = pa.array([["x", "y"], [], [""], None, ["x", None]], type=pa.list_(pa.string()))
    plan = plan_chunk([texts, labels])
    assert plan.nulls == 2  # a NULL list and a list holding a NULL
    assert sorted(g.options for g in plan.groups) == [((),), (("",),), (("x", "y"),)]


def test_all_null_and_empty_chunks() -> None:
    plan = plan_chunk([pa.array([None, None], type=pa.string()), pa.array(["", ""])])
    assert plan.groups == [] and plan.nulls == 2 and plan.slots.null_count == 2
    empty = plan_chunk([pa.array([], type=pa.string()), pa.array([], type=pa.string())])
    assert empty.size == 0 and empty.groups == []
