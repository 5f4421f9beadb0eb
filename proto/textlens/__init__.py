"""textlens: text analytics served from a GPU model server and called from SQL."""

__version__ = "0.1.0"
