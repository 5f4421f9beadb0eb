"""A server's first start on a machine (empty cache): time to ready, to the first answer,
and until every engine is measured (issue 25, item 1).

    python bench/first_start.py [--json out.json]

Three `textlens serve` children on the four default models, each with a new,
empty cache directory, one after another:

* `at_load` (the baseline: how every start measured before): every engine
  measured before the server answers;
* `background` (the default): float32 torch at once, engines measured after
  the start; "measured" is when the last model switched;
* `shipped` (the default, with the built-in models' shipped choices): on a
  machine whose key matches a shipped record the engines serve at once;
  elsewhere this is `background` again (the JSON says which models matched).

The first two run with `TEXTLENS_SHIPPED_CHOICES=false` to measure the
mechanism itself. Times are wall-clock from the process start, including
Python's imports. Prints the CPU flags first and one JSON object last.
About two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REVIEW = "The battery died after two days and support never answered."


def first_start(measure: str, shipped: bool) -> dict[str, Any]:
    from textlens.client import Client
    from textlens.server.process import ServerProcess

    with tempfile.TemporaryDirectory(prefix="textlens-first-start-") as cache:
        env = {
            "TEXTLENS_CACHE_DIR": cache,
            "TEXTLENS_MEASURE_ENGINES": measure,
            "TEXTLENS_SHIPPED_CHOICES": "true" if shipped else "false",
            "HF_HUB_OFFLINE": "1",
        }
        started = time.monotonic()
        with ServerProcess(env=env) as server:
            ready = time.monotonic() - started
            with Client(server.target) as client:
                client.sentiment([REVIEW])
                answered = time.monotonic() - started
                engines: dict[str, str] = {}
                while True:
                    infos = client.list_models()
                    if all("for now" not in i.backend_reason for i in infos):
                        break
                    time.sleep(0.25)
                measured = time.monotonic() - started
                for info in infos:
                    engines[info.name] = f"{info.backend}/{info.dtype}"
                from_shipped = [i.name for i in infos if "before release" in i.backend_reason]
            server.stop()
    return {
        "mode": "shipped" if shipped else measure,
        "ready_s": round(ready, 2),
        "first_answer_s": round(answered, 2),
        "all_measured_s": round(measured, 2),
        "engines": engines,
        "from_shipped_choices": from_shipped,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    from textlens.server.runtime.hardware import cpu_info
    from textlens.server.runtime.threads import configure_threads

    cpu = cpu_info()
    print(f"CPU: {cpu.model}; flags: {' '.join(cpu.shown_flags())}", flush=True)
    runs = []
    for measure, shipped in (("at_load", False), ("background", False), ("background", True)):
        run = first_start(measure, shipped)
        print(
            f"{run['mode']:10} ready {run['ready_s']:6.1f}s  first answer "
            f"{run['first_answer_s']:6.1f}s  all engines measured {run['all_measured_s']:6.1f}s  "
            f"{', '.join(f'{k}={v}' for k, v in run['engines'].items())}",
            flush=True,
        )
        runs.append(run)
    baseline = runs[0]["ready_s"]
    result = {
        "benchmark": "first_start",
        "cpu_model": cpu.model,
        "cpu_flags": cpu.shown_flags(),
        "threads": configure_threads(0),
        "python": platform.python_version(),
        "runs": runs,
        "ready_speedup_vs_at_load": {r["mode"]: round(baseline / r["ready_s"], 2) for r in runs},
    }
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
