"""Language identification: which language a text is in, so English-only models can decline the rest."""
