"""`textlens eval`: any model, scored on labelled rows, with the report `train` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textlens.server.runtime.artifacts import is_delta_dir, read_meta
from textlens.server.runtime.loading import resolve_directory
from textlens.server.training.evaluation import evaluate_rows, resolve_model
from textlens.server.training.pipeline import Columns, labelled_rows, metric_of
from textlens.server.training.report import summary_lines, write_report
from textlens.server.training.sources import Source, TrainingDataError
from textlens.server.training.token_sources import token_rows


def run_eval(
    model: str,
    data: Source,
    out: Path | None = None,
    task: str | None = None,
    columns: Columns | None = None,
    registry: Path | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Evaluate any model (registry name, directory, builtin:NAME) on labelled rows."""
    cols = columns or Columns()
    source = resolve_model(model, registry)
    directory = resolve_directory(source)
    if task is None:
        if not is_delta_dir(directory):
            raise TrainingDataError(f"{model} is not a textlens model; say which --task it does")
        task = read_meta(directory).task
    if task == "ner":
        token_data = token_rows(data, cols.text, cols.spans, cols.tokens, cols.tags)
        rows: list[Any] = token_data.rows
        fp = token_data.fingerprint
    else:
        text_data = labelled_rows(task, data, cols, dedupe=False)
        rows, fp = text_data.rows, text_data.fingerprint
    evaluation, version = evaluate_rows(source, task, rows, device)
    report: dict[str, Any] = {
        "kind": "evaluation",
        "task": task,
        "metric": metric_of(task),
        "score": evaluation[metric_of(task)],
        "model": model,
        "model_source": source,
        "model_version": version,
        "data": fp,
        "evaluation": evaluation,
    }
    for line in summary_lines(evaluation):
        print(line)
    if out is not None:
        files = write_report(out, report)
        print(f"report in {out} ({', '.join(f.name for f in files)})")
    return report
