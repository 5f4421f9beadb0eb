"""The fit's report: `report.json` and two pictures, a topic map and topic sizes.

The map is a 2-D UMAP of (a sample of) the documents coloured by the topic
the served model gives them, outliers in grey: whether topics are separate
islands or one smeared cloud is seen at a glance. The bar chart shows how the
documents split, largest topic first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

REPORT_FILE = "report.json"
MAP_FILE = "topic_map.png"
SIZES_FILE = "topic_sizes.png"


def _pyplot() -> Any:
    from textlens.server.training.report import _pyplot as pyplot

    return pyplot()


def plot_map(coords: np.ndarray, topics: np.ndarray, labels: list[str], path: Path) -> Path:
    """Scatter of documents in 2-D, one colour per topic (the outlier label last, grey)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    cmap = plt.get_cmap("tab20")
    outlier = len(labels) - 1
    mask = topics == outlier
    ax.scatter(coords[mask, 0], coords[mask, 1], s=4, c="#c8c8c8", label=labels[outlier])
    for t in range(outlier):
        sel = topics == t
        if not sel.any():
            continue
        ax.scatter(
            coords[sel, 0], coords[sel, 1], s=5, color=cmap(t % 20), label=f"{t}: {labels[t]}"
        )
        cx, cy = np.median(coords[sel], axis=0)
        ax.annotate(str(t), (cx, cy), fontsize=9, weight="bold", ha="center", va="center")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"Documents by topic ({len(coords):,} shown, 2-D UMAP)")
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, markerscale=3, frameon=False
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_sizes(sizes: list[int], labels: list[str], path: Path) -> Path:
    """Horizontal bars: documents per topic, outliers last."""
    plt = _pyplot()
    height = max(2.5, 0.32 * len(labels) + 1)
    fig, ax = plt.subplots(figsize=(8, height), dpi=110)
    names = [f"{t}: {lab}" if t < len(labels) - 1 else lab for t, lab in enumerate(labels)]
    colors = ["#4c72b0"] * (len(labels) - 1) + ["#b0b0b0"]
    ax.barh(range(len(sizes)), sizes, color=colors)
    ax.set_yticks(range(len(sizes)), names, fontsize=8)
    ax.invert_yaxis()
    total = max(sum(sizes), 1)
    for i, n in enumerate(sizes):
        ax.text(n, i, f" {n:,} ({n / total:.0%})", va="center", fontsize=7)
    ax.set_xlabel("documents")
    ax.set_title("Topic sizes")
    ax.margins(x=0.15)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(
    out: Path, report: dict[str, Any], coords: np.ndarray, map_topics: np.ndarray
) -> list[Path]:
    """report.json, topic_map.png and topic_sizes.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    labels = [t["label"] for t in report["topics"]]
    sizes = [int(t["size"]) for t in report["topics"]]
    return [
        out / REPORT_FILE,
        plot_map(coords, map_topics, labels, out / MAP_FILE),
        plot_sizes(sizes, labels, out / SIZES_FILE),
    ]
