"""Topic keywords by class-based TF-IDF, readable labels, and their coherence.

c-TF-IDF (BERTopic): all documents of a topic are one "class document"; a
word's weight is its frequency in the class times `log(1 + A / f)`, with `A`
the average number of words per class and `f` the word's frequency over all
classes. Words that are common in one topic and rare elsewhere come first.
Coherence is NPMI of each topic's top words co-occurring in documents
(−1 … 1; above 0 means the words go together more than by chance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Words per label ("earnings · profit · quarter").
LABEL_WORDS = 3
#: Keywords kept per topic in the report, and used for coherence.
TOP_WORDS = 10
SEPARATOR = " · "


@dataclass
class Keywords:
    """Top words per topic, with c-TF-IDF weights, and the binary document-term matrix."""

    words: list[list[tuple[str, float]]]
    doc_terms: Any  # scipy CSR, documents x vocabulary, 0/1
    vocabulary: dict[str, int]


def _vectorizer(n_docs: int) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        stop_words="english",
        lowercase=True,
        token_pattern=r"(?u)\b[^\W\d_][\w'\-]*[^\W_]\b",  # words of 2+ chars, no bare numbers
        min_df=2 if n_docs >= 50 else 1,
        dtype=np.float64,
    )


def class_tfidf(texts: Sequence[str], topics: np.ndarray, n_topics: int) -> Keywords:
    """Keywords of topics 0..n_topics-1 (`topics[i]` = topic of text i; others are ignored)."""
    import scipy.sparse as sp

    vectorizer = _vectorizer(len(texts))
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # nothing but stop words
        empty = sp.csr_matrix((len(texts), 0))
        return Keywords([[] for _ in range(n_topics)], empty, {})
    vocab = vectorizer.get_feature_names_out()
    membership = sp.csr_matrix(
        (
            np.ones(int((topics < n_topics).sum())),
            (topics[topics < n_topics], np.flatnonzero(topics < n_topics)),
        ),
        shape=(n_topics, len(texts)),
    )
    per_class = np.asarray((membership @ counts).todense())
    totals = per_class.sum(axis=0)
    average = per_class.sum() / max(n_topics, 1)
    idf = np.log1p(average / np.maximum(totals, 1e-12))
    tf = per_class / np.maximum(per_class.sum(axis=1, keepdims=True), 1e-12)
    weights = tf * idf
    words: list[list[tuple[str, float]]] = []
    for row in weights:
        best = np.lexsort((vocab, -row))[:TOP_WORDS]  # ties broken alphabetically
        words.append([(str(vocab[j]), float(row[j])) for j in best if row[j] > 0])
    binary = (counts > 0).astype(np.float64).tocsc()
    return Keywords(words, binary, {str(w): i for i, w in enumerate(vocab)})


def labels(keywords: Keywords) -> list[str]:
    """Unique readable names: the top words joined, one more word while two names collide."""
    names: list[str] = []
    taken: set[str] = set()
    for t, words in enumerate(keywords.words):
        plain = [w for w, _ in words]
        name = SEPARATOR.join(plain[:LABEL_WORDS]) or f"topic {t}"
        extra = LABEL_WORDS
        while name in taken:
            extra += 1
            name = SEPARATOR.join(plain[:extra]) if extra <= len(plain) else f"{name} ({t})"
        taken.add(name)
        names.append(name)
    return names


def npmi_coherence(keywords: Keywords) -> list[float]:
    """Mean NPMI over pairs of each topic's top words (document co-occurrence)."""
    n_docs = keywords.doc_terms.shape[0]
    out: list[float] = []
    for words in keywords.words:
        ids = [keywords.vocabulary[w] for w, _ in words if w in keywords.vocabulary]
        if len(ids) < 2 or n_docs == 0:
            out.append(0.0)
            continue
        columns = keywords.doc_terms[:, ids]
        together = np.asarray((columns.T @ columns).todense()) / n_docs
        single = np.diag(together)
        scores = []
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                joint = together[a, b]
                if joint <= 0:
                    scores.append(-1.0)
                    continue
                if joint >= 1:
                    scores.append(1.0)
                    continue
                pmi = np.log(joint / (single[a] * single[b]))
                scores.append(float(pmi / -np.log(joint)))
        out.append(float(np.mean(scores)))
    return out
