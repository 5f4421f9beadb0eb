"""Every backend x dtype of the default models on this machine (the `textlens bench` command).

    python bench/backends.py [--rows 1000] [--task sentiment] [--out out.json]

Same rows, same batches, one run: rows/s, tokens/s, GFLOP/s against a matmul
peak measured here, agreement with float32 torch, gate verdict and cold/warm
start seconds. The CPU flags are printed first; the last line is JSON.
"""

from __future__ import annotations

import sys

from textlens.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
