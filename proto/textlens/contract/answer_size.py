"""How large a Classify answer will be, before anyone computes it.

Every ClassifyResult carries a score per candidate label, so the answer grows
with texts x labels x label bytes: 256 labels of 200 characters are about
55 KB per text, and a 2,048-text call (one DuckDB chunk) would answer 113 MB,
over the 64 MiB message limit, after computing everything. Both ends use this
one estimate: the server refuses an answer that cannot fit before computing
it, and the client sends at most `texts_per_answer` texts per call.

The estimate is the protobuf wire size with every field present (proto3 omits
empty and zero values), so it is an upper bound, and close: within the bytes
of the model name and version.

Pure arithmetic: importable without grpc, numpy or torch.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The response's own fields (model name, version) and framing, generously.
RESPONSE_OVERHEAD = 4096


def _varint_bytes(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _field_bytes(payload: int) -> int:
    """A length-delimited field: one tag byte (field numbers < 16), its length, the payload."""
    return 1 + _varint_bytes(payload) + payload


def classify_result_bytes(labels: Sequence[str]) -> int:
    """The wire bytes one text's result adds to a ClassifyResponse over `labels` (upper bound)."""
    sizes = [len(label.encode("utf-8", errors="surrogatepass")) for label in labels]
    # map<string, double> entry: key field + double field (tag + 8 bytes), framed.
    scores = sum(_field_bytes(_field_bytes(n) + 9) for n in sizes)
    top_label = _field_bytes(max(sizes, default=0))
    return _field_bytes(top_label + scores)


def classify_answer_bytes(texts: int, labels: Sequence[str]) -> int:
    """The wire bytes of the answer to `texts` texts over `labels` (upper bound)."""
    return RESPONSE_OVERHEAD + texts * classify_result_bytes(labels)


def texts_per_answer(labels: Sequence[str], max_bytes: int) -> int:
    """How many texts' results over `labels` fit one message of `max_bytes` (0: not even one)."""
    return max(0, (max_bytes - RESPONSE_OVERHEAD) // max(1, classify_result_bytes(labels)))
