"""Fine-tuning textlens models (LoRA on a BERT-family encoder) on labelled rows."""
