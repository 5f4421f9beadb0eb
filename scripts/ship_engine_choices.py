"""Measure the default models' engine choice on this machine and ship it with the models.

    python scripts/ship_engine_choices.py

Loads each default model with an empty cache and `measure_engines = "at_load"`
(the same measurement a first start would make), then merges the record into
`models/textlens/models/<model>/engine_choices.json` under the digest of its
whole key (model version, CPU model and flags, threads, library versions,
probe set). A first start on a machine with the same key serves that engine at
once; every other machine still measures for itself. Run it on each kind of
machine we deploy on, after retraining a model (records of older versions are
dropped) or upgrading torch/onnxruntime (their keys no longer match).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    from textlens.server.assembly import load_models
    from textlens.server.inference.shipped_choices import choices_file, write_shipped
    from textlens.server.runtime.hardware import cpu_info
    from textlens.server.settings import RuntimeSettings, default_models

    print(f"CPU: {cpu_info().model}; flags: {' '.join(cpu_info().shown_flags())}")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        for spec in default_models():
            registry = load_models(
                [spec], RuntimeSettings(cache_dir=cache, measure_engines="at_load")
            )
            try:
                loaded = registry.models[spec.name].model.loaded
                (record_file,) = (cache / "choices").glob(f"{spec.name}-*.json")
                record = json.loads(record_file.read_text(encoding="utf-8"))
                digest = record_file.stem.rsplit("-", 1)[-1]
                target = choices_file(spec.source)
                assert target is not None, spec.source
                kept = write_shipped(target, loaded.version, {digest: record})
                print(
                    f"{spec.name}: {record['backend']}/{record['dtype']} "
                    f"-> {target.relative_to(REPO)} ({kept} CPU kind(s))"
                )
            finally:
                registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
