"""Topic discovery (`textlens topics fit`) and the topic classifier it registers.

BERTopic's recipe on our own embed model: embeddings → UMAP → HDBSCAN (or
k-means for a fixed count) → class-based TF-IDF keyword labels. What is
saved is small — one centroid per topic and a similarity threshold on top of
the base encoder — so the result is a textlens model like any other, served
by `Classify` / `classify(text, 'news-topics')` without the fitting libraries.
"""
