"""Model-card sections of mixture models: every source with its licence, the worst source, LOSO."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textlens.server.training.cards import (
    COMMERCIAL_NOTE,
    inference_paths_section,
    loso_section,
    served_section,
    sources_table,
    worst_line,
)


def _meta() -> dict[str, Any]:
    return {
        "training": {
            "mixture": {
                "quotas": {"gold": 300, "stockemotions": 100},
                "recipe": {"self_sources": ["stockemotions"], "self_loss": "pair"},
            }
        }
    }


def test_sources_table_names_licences_shares_and_how_rows_teach() -> None:
    scores = {
        "gold": {"rows": 449, "accuracy": 0.8, "macro_f1": 0.7, "neutral_recall": 0.4},
        "stockemotions": {"rows": 516, "accuracy": 0.6, "macro_f1": 0.6, "sign_accuracy": 0.7},
    }
    table = sources_table(_meta(), scores)
    gold, posts = table.splitlines()[2:]
    assert "CC BY-NC-ND 4.0" in gold and "| 75% |" in gold and "| 0.700 |" in gold
    assert "none stated" in posts and "positive vs negative only" in posts and "| 25% |" in posts
    assert "non-commercial" in COMMERCIAL_NOTE and "textlens train" in COMMERCIAL_NOTE
    # A source the recipe left out is still listed, with its held-out scores.
    scores["pyfin"] = {"rows": 402, "accuracy": 0.5, "macro_f1": 0.5, "neutral_recall": 0.6}
    pyfin = [ln for ln in sources_table(_meta(), scores).splitlines() if ln.startswith("| pyfin")]
    assert len(pyfin) == 1 and "| 0% | left out |" in pyfin[0] and "| 402 |" in pyfin[0]


def test_worst_line_reads_only_three_class_sources() -> None:
    scores = {
        "a": {"macro_f1": 0.8, "neutral_recall": 0.5},
        "b": {"macro_f1": 0.6, "neutral_recall": 0.5},
        "polar": {"macro_f1": 0.3, "sign_accuracy": 0.9},
    }
    assert "**b**, macro-F1 0.6000 (mean of the 2 three-class sources 0.7000)" in worst_line(scores)


def test_loso_section_lists_each_left_out_source(tmp_path: Path) -> None:
    assert loso_section(tmp_path / "missing.jsonl") == ""
    study = tmp_path / "study.jsonl"
    runs = [
        {"variant": "x", "seed": 1, "train_rows": 6000, "left_out": None, "scores": {}},
        {
            "variant": "x",
            "seed": 1,
            "train_rows": 6000,
            "left_out": "pyfin",
            "scores": {"pyfin": {"rows": 1500, "accuracy": 0.61, "macro_f1": 0.58}},
        },
    ]
    study.write_text("\n".join(json.dumps(r) for r in runs) + "\n")
    section = loso_section(study)
    assert "| pyfin | 1 | 1500 | 0.610 | 0.580 | – | – |" in section
    assert "6,000 sampled rows" in section
    second = {
        **runs[1],
        "seed": 2,
        "scores": {"pyfin": {"rows": 1500, "accuracy": 0.63, "macro_f1": 0.6}},
    }
    other_base = {**runs[1], "seed": 3, "base": "/tmp/adapted"}  # not the default's base
    with study.open("a") as fh:
        fh.write(json.dumps(second) + "\n" + json.dumps(other_base) + "\n")
    section = loso_section(study)
    assert "| pyfin | 2 | 1500 | 0.620 ± 0.014 | 0.590 ± 0.014 | – | – |" in section
    assert "seeds 1, 2;" in section


def test_served_section_reads_the_served_scores(tmp_path: Path) -> None:
    assert served_section(tmp_path, "sentiment") == ""
    scores = {"tfns": {"rows": 496, "accuracy": 0.8, "macro_f1": 0.73, "neutral_recall": 0.83}}
    (tmp_path / "validation_by_source_served.json").write_text(json.dumps(scores))
    section = served_section(tmp_path, "sentiment")
    assert "one sentence at a time" in section
    assert "| tfns | 496 | 0.8000 | 0.7300 | 0.8300 | – |" in section
    assert served_section(tmp_path, "ner") == ""


def test_inference_paths_section_shows_deltas_and_what_does_not_gate(tmp_path: Path) -> None:
    assert inference_paths_section(tmp_path) == ""

    def path(f1: float, worst: float, allowed: bool) -> dict[str, Any]:
        metrics = {"big_accuracy": 0.9, "big_macro_f1": f1, "tiny_macro_f1": 0.5}
        return {"allowed": allowed, "worst_delta_points": worst, "metrics": metrics}

    gate = {
        "max_loss_points": 0.5,
        "gate_min_rows": 300,
        "rows": {"big": 1000, "tiny": 50},
        "cpu_flags": ["avx2"],
        "paths": {"torch/float32": path(0.8, 0.0, True), "onnx/int8": path(0.79, -1.0, False)},
    }
    (tmp_path / "validation_gate.json").write_text(json.dumps(gate))
    section = inference_paths_section(tmp_path)
    assert "| big | 1000 | 0.8000 | 0.7900 (-1.00) |" in section
    assert "| tiny | 50 (does not gate) | 0.5000 | 0.5000 (+0.00) |" in section
    assert "| auto may pick | | yes | no |" in section
    assert "CPU flags: avx2" in section
