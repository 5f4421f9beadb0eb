"""Embedded mode honours the config file's `[server] threads` and `cache_dir` (issue 22,
item 15): only the model specs used to be passed on, so the runtime took its threads
from the cores and its cache from ~/.cache/textlens whatever the file said.

In a subprocess: threads set torch's process-wide pool, which must not leak into
the other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("duckdb")

SCRIPT = """
import json, sys
import duckdb, torch
from textlens.connectors.duckdb import register

con = duckdb.connect()
with register(con, mode="embedded", config=sys.argv[1]) as tl:
    assert con.execute("SELECT sentiment('fine')").fetchone()[0] is not None
    context = tl.backend.analyzer.registry.context
    print(json.dumps({"threads": context.threads, "torch": torch.get_num_threads(),
                      "cache_dir": str(context.cache_dir)}))
"""


def test_threads_and_cache_dir_from_the_config_file(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    from textlens.server.runtime.hardware import usable_cores

    threads = usable_cores() + 1  # not what the default (the usable cores) would give
    cache = tmp_path / "cache"
    config = tmp_path / "textlens.toml"
    config.write_text(
        f'[server]\nthreads = {threads}\ncache_dir = "{cache}"\nmeasure_engines = "at_load"\n\n'
        f'[[models]]\nname = "tiny-sentiment"\ntask = "sentiment"\n'
        f'source = "{tiny_models_dir["tiny-sequence"]}"\ndevice = "cpu"\nbackend = "auto"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLENS_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")  # where the cache would go otherwise
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen == {"threads": threads, "torch": threads, "cache_dir": str(cache)}
    assert any(cache.rglob("*")), "backend=auto measured nothing into cache_dir"
    assert not (tmp_path / "xdg" / "textlens").exists()
