"""Training and evaluation reports: `report.json` with every number, PNG charts, a summary.

The JSON is the record (a CI job or a promotion rule reads it); the PNGs are
for people: the training curve shows whether training converged or
over-fitted, the confusion matrix which classes are mixed up. matplotlib is
imported lazily and drawn with the Agg backend, so reports work headless.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPORT_FILE = "report.json"
CURVE_FILE = "training_curve.png"
CONFUSION_FILE = "confusion_matrix.png"
PER_TYPE_FILE = "per_type_scores.png"


def write_report(out: Path, report: dict[str, Any]) -> list[Path]:
    """Write report.json and the charts the report has data for; return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / REPORT_FILE]
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    curve = report.get("curve") or []
    if curve:
        losses = report.get("loss_curve") or []
        written.append(plot_curve(curve, losses, report.get("metric", "score"), out / CURVE_FILE))
    validation = report.get("validation") or report.get("evaluation") or {}
    if "confusion_matrix" in validation:
        written.append(
            plot_confusion(
                validation["confusion_matrix"], validation["labels"], out / CONFUSION_FILE
            )
        )
    elif "per_type" in validation:
        written.append(plot_per_type(validation["per_type"], out / PER_TYPE_FILE))
    return written


class ChartsUnavailable(ValueError):
    """matplotlib is not installed, so the report's charts cannot be drawn."""


def require_charts() -> None:
    """Fail before a long training run rather than at its end when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ChartsUnavailable(
            "training reports need matplotlib for their charts: pip install 'textlens[train]'"
        ) from exc


def _pyplot() -> Any:
    require_charts()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curve(
    curve: list[dict[str, float]], losses: list[dict[str, float]], metric: str, path: Path
) -> Path:
    """Training loss (line) and validation metric (markers) against epochs, on two y axes."""
    plt = _pyplot()
    epochs = [p["epoch"] for p in curve]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    points = losses or curve
    ax.plot(
        [p["epoch"] for p in points],
        [p["loss"] for p in points],
        "-",
        color="tab:red",
        label="training loss",
    )
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (smoothed)", color="tab:red")
    ax.set_ylim(bottom=0)
    ax2 = ax.twinx()
    ax2.plot(epochs, [p["score"] for p in curve], "s--", color="tab:blue", label=metric)
    ax2.set_ylabel(f"validation {metric}", color="tab:blue")
    ax2.set_ylim(0, 1.05)
    best = max(range(len(curve)), key=lambda i: curve[i]["score"])
    ax2.annotate(
        f"best {curve[best]['score']:.3f}",
        (epochs[best], curve[best]["score"]),
        textcoords="offset points",
        xytext=(-10, -18),
        ha="right",
        color="tab:blue",
    )
    ax.set_xlim(0, max(p["epoch"] for p in [*points, *curve]) * 1.02)
    ax.set_title(f"Training loss and validation {metric}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_confusion(matrix: list[list[int]], labels: list[str], path: Path) -> Path:
    """Rows = true label, columns = predicted label; counts in the cells, row-normalised colour."""
    plt = _pyplot()
    n = len(labels)
    size = max(5.0, 0.7 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=110)
    shares = [[c / max(1, sum(row)) for c in row] for row in matrix]
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(matrix[i][j]),
                ha="center",
                va="center",
                color="white" if shares[i][j] > 0.5 else "black",
                fontsize=9,
            )
    ax.set_xticks(range(n), labels, rotation=45 if n > 3 else 0, ha="right" if n > 3 else "center")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (validation)")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_per_type(per_type: dict[str, dict[str, float]], path: Path) -> Path:
    """NER: precision, recall and F1 per entity type as grouped bars."""
    plt = _pyplot()
    types = list(per_type)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(types) + 2), 4.0), dpi=110)
    width = 0.27
    for k, metric in enumerate(("precision", "recall", "f1")):
        xs = [i + (k - 1) * width for i in range(len(types))]
        ax.bar(xs, [per_type[t][metric] for t in types], width, label=metric)
    ax.set_xticks(range(len(types)), types)
    ax.set_ylim(0, 1.18)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("entity-level score")
    ax.set_title("Per-type scores (validation)")
    ax.legend(loc="upper center", ncols=3, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def summary_lines(evaluation: dict[str, Any]) -> list[str]:
    """A short human summary of an evaluation for the terminal."""
    lines: list[str] = []
    if "accuracy" in evaluation:
        lines.append(
            f"accuracy {evaluation['accuracy']:.4f}  macro-F1 {evaluation['macro_f1']:.4f}  "
            f"on {evaluation['rows']} rows"
        )
        for label, s in evaluation["per_class"].items():
            lines.append(
                f"  {label:20} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}  "
                f"n={s['support']}"
            )
    else:
        lines.append(
            f"entity F1 {evaluation['f1']:.4f}  P {evaluation['precision']:.4f}  "
            f"R {evaluation['recall']:.4f}"
        )
        for label, s in evaluation["per_type"].items():
            lines.append(
                f"  {label:8} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}  "
                f"n={s['support']}"
            )
    return lines
