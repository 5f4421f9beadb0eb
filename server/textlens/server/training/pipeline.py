"""`textlens train` and `textlens eval`: data in, checked, split, trained, reported, registered.

This is the one training code path: the CLI calls it, and so does
`textlens.server.training.defaults`, which trained the committed default
models. Order matters for what a failure leaves behind: the data is read and
checked before any model loads (bad data fails in seconds), and a registered
model is trained into the registry's staging area and published only after
its report is written (a failed run leaves the registry unchanged).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from textlens.server.model_store import ModelStore
from textlens.server.runtime.loading import BASE_BUILTIN
from textlens.server.training.data import group_split, stratified_split
from textlens.server.training.evaluation import evaluate_rows, resolve_model
from textlens.server.training.mixture import MixRecipe, train_mixture
from textlens.server.training.report import require_charts, summary_lines, write_report
from textlens.server.training.sources import (
    Source,
    TextData,
    TrainingDataError,
    check_classes,
    check_valid_labels,
    content_order,
    pair_rows,
    sourced_text_rows,
    text_rows,
)
from textlens.server.training.token_sources import token_rows
from textlens.server.training.trainer import (
    TrainConfig,
    resumed_config,
    train_text_classifier,
    train_token_classifier,
)

#: `textlens train --task` values; sentiment and classify are both sequence classifiers
#: (served by the Sentiment and Classify RPCs respectively), aspect a sequence-pair
#: classifier over (text, aspect) (AspectSentiment), ner is token classification.
TASKS = ("classify", "sentiment", "aspect", "ner")


@dataclass
class Columns:
    """Column names in the query result / file."""

    text: str = "text"
    label: str = "label"
    aspect: str = "aspect"
    spans: str = "entities"
    tokens: str = "tokens"
    tags: str = "tags"
    #: With a source column, training balances and selects by source (`training.mixture`).
    source: str = ""


@dataclass
class TrainJob:
    """Everything `textlens train` was asked to do."""

    task: str
    data: Source
    config: TrainConfig
    valid: Source | None = None
    valid_fraction: float = 0.1
    columns: Columns = field(default_factory=Columns)
    out: Path | None = None
    register: str | None = None
    registry: Path | None = None
    max_rows: int | None = None
    dedupe: bool = True
    command: str = ""
    #: Continue from a registered model (name, with `registry`) or a model directory.
    resume_from: str | None = None
    #: With a registry: publish the new version but make it current only if it scores
    #: higher than the resumed version on the same validation rows.
    promote_if_better: bool = False
    #: How sources are mixed when `columns.source` is set (default `MixRecipe()`).
    mixture: MixRecipe | None = None


#: `--base auto`: the three-class sentiment model for polarity labels, else the encoder.
AUTO_BASE = "auto"
POLARITY_LABELS = {"negative", "neutral", "positive"}


def auto_base(task: str, train: list[Any]) -> str:
    """The starting point `--base auto` picks for these training rows.

    Why: on a few thousand polarity rows (finance tweets, headlines) starting
    from `sentiment-minilm` beats the bare encoder by a wide margin (the recipe
    study in scripts/recipe_study.py); for any other label set the
    sentiment-tuned encoder has no head start and the bare one is the neutral choice.
    """
    labels = {str(row[1]).lower() for row in train}  # (text, label[, source]) rows
    if task != "ner" and len(labels) >= 2 and labels <= POLARITY_LABELS:
        return "builtin:sentiment-minilm"
    return BASE_BUILTIN


def metric_of(task: str) -> str:
    # macro-F1 for every classifier: accuracy rewards a model that ignores a rare class.
    return {"sentiment": "macro_f1", "classify": "macro_f1", "aspect": "macro_f1", "ner": "f1"}[
        task
    ]


def labelled_rows(task: str, source: Source, columns: Columns, dedupe: bool) -> TextData:
    """(text, label) rows, or ((text, aspect), label) rows for the aspect task."""
    if task == "aspect":
        return pair_rows(source, columns.text, columns.aspect, columns.label, dedupe)
    return text_rows(source, columns.text, columns.label, dedupe)


def _load_sourced(job: TrainJob) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """(text, label, source) rows; the split is stratified by source and label together."""
    cols = job.columns
    if job.task == "ner":
        raise TrainingDataError("--source-column trains sentiment, classify or aspect, not ner")
    if job.task == "aspect" and job.valid is None:
        raise TrainingDataError(
            "--task aspect with --source-column needs --valid-query or --valid-data (a split "
            "by row would put one text's targets on both sides)"
        )
    aspect = cols.aspect if job.task == "aspect" else ""
    if job.resume_from is not None:
        raise TrainingDataError(
            "--source-column does not continue a model (--resume-from) yet: train a new one, "
            "or resume without --source-column"
        )
    data = sourced_text_rows(job.data, cols.text, cols.label, cols.source, job.dedupe, aspect)
    check_classes([(t, lab) for t, lab, _ in data.rows], job.data.describe())
    record: dict[str, Any] = {"data": data.fingerprint}
    rows = content_order(data.rows)
    if job.valid is not None:
        valid = sourced_text_rows(job.valid, cols.text, cols.label, cols.source, job.dedupe, aspect)
        check_valid_labels(
            {lab for _, lab, _ in rows},
            [(t, lab) for t, lab, _ in valid.rows],
            job.valid.describe(),
        )
        record["valid_data"] = valid.fingerprint
        train, valid_rows = rows, content_order(valid.rows)
    else:
        strata = [f"{s}\x00{lab}" for _, lab, s in rows]
        train, valid_rows = stratified_split(rows, strata, job.valid_fraction, job.config.seed)
    if job.max_rows:
        train = train[: job.max_rows]
    check_classes([(t, lab) for t, lab, _ in train], "the training split")
    return train, valid_rows, record


def _load_text(job: TrainJob) -> tuple[list[Any], list[Any], dict[str, Any]]:
    if job.columns.source:
        return _load_sourced(job)
    data = labelled_rows(job.task, job.data, job.columns, job.dedupe)
    check_classes(data.rows, job.data.describe())
    record: dict[str, Any] = {"data": data.fingerprint}
    if job.valid is not None:
        valid = labelled_rows(job.task, job.valid, job.columns, job.dedupe)
        check_valid_labels({label for _, label in data.rows}, valid.rows, job.valid.describe())
        record["valid_data"] = valid.fingerprint
        train, valid_rows = content_order(data.rows), content_order(valid.rows)
    elif job.task == "aspect":
        # Split by text: the pairs of one text are all on one side, so a held-out
        # text was never seen with another aspect.
        train, valid_rows = group_split(
            content_order(data.rows), job.valid_fraction, job.config.seed
        )
    else:
        rows = content_order(data.rows)
        train, valid_rows = stratified_split(
            rows, [label for _, label in rows], job.valid_fraction, job.config.seed
        )
    if job.max_rows:
        train = train[: job.max_rows]
    check_classes(train, "the training split")
    return train, valid_rows, record


def _load_tokens(job: TrainJob) -> tuple[list[Any], list[Any], dict[str, Any]]:
    cols = job.columns
    data = token_rows(job.data, cols.text, cols.spans, cols.tokens, cols.tags)
    record: dict[str, Any] = {"data": data.fingerprint}
    if job.valid is not None:
        valid = token_rows(job.valid, cols.text, cols.spans, cols.tokens, cols.tags)
        record["valid_data"] = valid.fingerprint
        train, valid_rows = content_order(data.rows), content_order(valid.rows)
    else:
        sentences = content_order(data.rows)
        order = list(range(len(sentences)))
        random.Random(job.config.seed).shuffle(order)
        n_valid = max(1, round(len(order) * job.valid_fraction))
        valid_rows = [sentences[i] for i in sorted(order[:n_valid])]
        train = [sentences[i] for i in order[n_valid:]]
    if job.max_rows:
        train = train[: job.max_rows]
    types = {t[2:] for _, tags in train for t in tags if t != "O"}
    check_valid_labels(
        types,
        [(None, t[2:]) for _, tags in valid_rows for t in tags if t != "O"],
        "the validation sentences (entity types)",
    )
    return train, valid_rows, record


def load_job_data(job: TrainJob) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """(train rows, validation rows, record of the data) after every check."""
    if job.task not in TASKS:
        raise TrainingDataError(f"--task must be one of {', '.join(TASKS)}, not {job.task!r}")
    return _load_tokens(job) if job.task == "ner" else _load_text(job)


def _resume(job: TrainJob) -> dict[str, Any] | None:
    """Point `job` at the model it continues from; return what is known about that model."""
    if job.resume_from is None:
        if job.promote_if_better:
            raise TrainingDataError("--promote-if-better compares with --resume-from; give both")
        return None
    path = Path(resolve_model(job.resume_from, job.registry)).expanduser()
    if not (path / "textlens_model.json").is_file():
        where = f" in {job.registry}" if job.registry else " (give --registry for names)"
        raise TrainingDataError(f"--resume-from {job.resume_from!r}: no such model{where}")
    meta = json.loads((path / "textlens_model.json").read_text(encoding="utf-8"))
    if meta["task"] != job.task:
        raise TrainingDataError(
            f"--resume-from {job.resume_from!r} is a {meta['task']} model, not {job.task}"
        )
    if job.register is None and job.registry is not None and path.parent.parent == job.registry:
        job.register = path.parent.name  # continuing a registered model: its next version
    job.config = resumed_config(job.config, path)[0]
    return {
        "model": job.resume_from,
        "path": str(path),
        "version": path.name,
        "labels": list(meta["id2label"].values()),
    }


def run_training(job: TrainJob) -> dict[str, Any]:
    """Train, write the model directory and its report, register if asked; return the report."""
    previous = _resume(job)
    if job.out is None and job.register is None:
        raise TrainingDataError("say where the model goes: --out DIR or --register NAME")
    if job.register is not None and job.registry is None:
        raise TrainingDataError("--register needs --registry DIR (or $TEXTLENS_REGISTRY)")
    require_charts()
    train, valid, record = load_job_data(job)
    print(
        f"{job.task}: {len(train)} training rows, {len(valid)} validation rows "
        f"({record['data']['source']}, sha256 {record['data']['sha256'][:12]})",
        flush=True,
    )
    if job.config.base == AUTO_BASE:
        job.config = replace(job.config, base=auto_base(job.task, train))
        print(f"starting from {job.config.base} (--base auto)", flush=True)
    if previous is not None:
        if job.task != "ner":
            new = sorted({label for _, label in [*train, *valid]} - set(previous["labels"]))
            if new:
                raise TrainingDataError(
                    f"labels {new} are not labels of the model resumed from "
                    f"({previous['model']}: {previous['labels']}); train a new model "
                    "(without --resume-from) for a new label set"
                )
        print(f"scoring {previous['model']} on the {len(valid)} validation rows", flush=True)
        old, _ = evaluate_rows(previous["path"], job.task, valid, job.config.device)
        previous |= {"score": old[metric_of(job.task)], "evaluation": old}
    record["command"] = job.command
    store = ModelStore(job.registry) if job.registry is not None else None
    if store is not None and job.register is not None:
        store.versions(job.register)  # validates the name before the long part
        with store.staging() as staged:
            report = _train_into(job, train, valid, record, staged, previous, announce=False)
            promote = not job.promote_if_better or report["score"] > report["previous"]["score"]
            version = store.publish(job.register, staged, promote=promote)
        report["registered"] = {"name": job.register, "version": version, "promoted": promote}
        if not promote:
            print(
                f"not promoted: {report['metric']} {report['score']:.4f} is not above the "
                f"current version's {report['previous']['score']:.4f}; "
                f"{job.register} still serves {previous['version'] if previous else '?'}",
                flush=True,
            )
        final = store.root / job.register / version
        _rewrite_report(final, report)
        # The staging directory is empty by now: name where the model and report are.
        files = ", ".join(sorted(p.name for p in final.iterdir() if p.is_file()))
        print(f"registered {job.register} {version} at {final} ({files})", flush=True)
        if job.out is not None:
            print(f"(--out {job.out} ignored: the model is in the registry)", flush=True)
        return report
    assert job.out is not None
    return _train_into(job, train, valid, record, job.out, previous)


def _train_into(
    job: TrainJob,
    train: list[Any],
    valid: list[Any],
    record: dict[str, Any],
    out: Path,
    previous: dict[str, Any] | None = None,
    *,
    announce: bool = True,
) -> dict[str, Any]:
    started = time.monotonic()
    if job.task == "ner":
        result = train_token_classifier(train, valid, out, job.config, record)
    elif job.columns.source:
        recipe = job.mixture or MixRecipe()
        result = train_mixture(train, valid, job.task, out, job.config, recipe, record)
    else:
        result = train_text_classifier(train, valid, job.task, out, job.config, record)
    validation = result["validation"]
    report: dict[str, Any] = {
        "kind": "training",
        "task": job.task,
        "metric": metric_of(job.task),
        "score": validation[metric_of(job.task)],
        "model_dir": str(out),
        "method": job.config.method,
        "train_rows": len(train),
        "valid_rows": len(valid),
        **record,
        "config": asdict(job.config),
        "seconds": round(time.monotonic() - started, 1),
        "validation": validation,
        "curve": result["curve"],
        "loss_curve": result["loss_curve"],
    }
    if previous is not None:
        report["previous"] = previous
        report["improvement"] = report["score"] - previous["score"]
    files = write_report(out, report)
    for line in summary_lines(validation):
        print(line)
    if previous is not None:
        print(
            f"{report['metric']}: {previous['score']:.4f} ({previous['model']}) -> "
            f"{report['score']:.4f} (new) on the same validation rows"
        )
    if announce:
        print(f"model and report in {out} ({', '.join(f.name for f in files)})", flush=True)
    return report


def _rewrite_report(directory: Path, report: dict[str, Any]) -> None:
    report["model_dir"] = str(directory)
    (directory / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
