"""Synthetic, seeded data with a known truth, for demos, docs, tests and benchmarks.

`reviews` (product reviews with ratings and an incident), `market_news` (headlines per
ticker with an incident burst), `headline_streams` (streams with injected spikes, for the
monitor's false-positive and detection studies) and `tickets` (labelled support tickets
for the fine-tuning walkthrough). Nothing here is read at serving time.
"""
