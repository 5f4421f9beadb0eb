"""The dtype names a model spec may ask for, and their aliases.

The settings validate `dtype` with it and the inference backends choose among the
same names, so the vocabulary sits below both.
"""

from __future__ import annotations

DTYPES = ("auto", "float32", "bfloat16", "float16", "int8")
DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}


def canonical_dtype(name: str) -> str:
    dtype = DTYPE_ALIASES.get(name.lower(), name.lower())
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; use one of {', '.join(DTYPES)}")
    return dtype
