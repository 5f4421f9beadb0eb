"""The command line's shared spellings, its renamed options and its exit-code table."""

from __future__ import annotations

from pathlib import Path

import pytest

from textlens.cli.main import FAILED, USAGE, build_parser, exit_code
from textlens.contract import errors

ENRICH = ["enrich", "--table", "t", "--out", "o"]
MONITOR = ["monitor", "--db", "w.duckdb", "--table", "news", "--time", "at", "--out", "m"]


@pytest.mark.parametrize(
    ("argv", "old"),
    [
        ([*ENRICH, "--text-column", "review"], None),
        ([*ENRICH, "--column", "review"], "--column"),
        ([*MONITOR, "--text-column", "review"], None),
        ([*MONITOR, "--text", "review"], "--text"),
    ],
)
def test_the_text_column_is_one_option_and_old_names_still_work(
    argv: list[str], old: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.warns(DeprecationWarning) if old else _no_warning():
        args = build_parser().parse_args(argv)
    assert args.text_column == "review"
    err = capsys.readouterr().err
    if old:
        assert f"{old} is renamed --text-column" in err
    else:
        assert err == ""


def test_train_topics_and_enrich_share_the_spelling() -> None:
    parser = build_parser()
    train = parser.parse_args(["train", "--task", "classify", "--data", "d.csv", "--out", "m"])
    fit = parser.parse_args(["topics", "fit", "--query", "SELECT 1", "--out", "t"])
    assert train.text_column == fit.text_column == "text"  # their default


def test_bench_writes_its_json_with_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["bench", "--out", "b.json"]).out == Path("b.json")
    with pytest.warns(DeprecationWarning):
        assert build_parser().parse_args(["bench", "--json", "b.json"]).out == Path("b.json")
    assert "--json is renamed --out" in capsys.readouterr().err


def test_sql_enrich_and_monitor_take_a_registry(tmp_path: Path) -> None:
    parser = build_parser()
    for argv in (
        ["sql", "SELECT 1"],
        [*ENRICH, "--text-column", "x"],
        [*MONITOR, "--text-column", "x"],
    ):
        assert parser.parse_args([*argv, "--registry", str(tmp_path)]).registry == tmp_path


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.ServerUnavailable("down"), FAILED),
        (errors.PermissionDenied("no"), FAILED),
        (errors.DeadlineExceeded("late"), FAILED),
        (errors.Overloaded("busy"), FAILED),
        (OSError(28, "No space left on device"), FAILED),
        (errors.UnknownModel("which?"), USAGE),
        (errors.ModelLoadError("no such directory"), USAGE),
        (errors.InvalidInput("bad"), USAGE),
        (FileNotFoundError("x.parquet"), USAGE),
        (ValueError("--labels is needed"), USAGE),
        (RuntimeError("a bug"), None),
    ],
)
def test_one_exit_code_table(error: BaseException, code: int | None) -> None:
    assert exit_code(error) == code


class _no_warning:
    """A context in which a DeprecationWarning is an error (the new spelling warns of nothing)."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error", DeprecationWarning)

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(*exc)
