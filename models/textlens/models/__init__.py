"""Committed model artifacts (textlens deltas on the packaged MiniLM encoder).

Each sub-directory is a `builtin:NAME` source; see its MODEL_CARD.md.
"""
