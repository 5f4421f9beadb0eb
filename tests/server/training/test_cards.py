"""Model-card sections of mixture models: every source with its licence, the worst source, LOSO."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textlens.server.training.cards import COMMERCIAL_NOTE, loso_section, sources_table, worst_line


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
    assert "| pyfin | 1500 | 0.610 | 0.580 | – | – |" in section
    assert "6,000 sampled rows" in section
