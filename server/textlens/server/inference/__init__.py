"""Inference backends: which engine runs a model's forward pass on this machine, and why.

`textlens.server.runtime.loading` builds every model as a float32 torch
network; this package turns it into the engine that serves it (torch in
float32/bfloat16/float16, or ONNX Runtime in float32/int8), gated by a parity
check against float32 and, under `auto`, chosen by measuring the candidates
on this machine.
"""
