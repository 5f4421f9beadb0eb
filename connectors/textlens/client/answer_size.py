"""Re-exported from `textlens.contract.answer_size`, where server and client share it (the same objects)."""

from textlens.contract.answer_size import (
    RESPONSE_OVERHEAD as RESPONSE_OVERHEAD,
)
from textlens.contract.answer_size import (
    _field_bytes as _field_bytes,
)
from textlens.contract.answer_size import (
    _varint_bytes as _varint_bytes,
)
from textlens.contract.answer_size import (
    classify_answer_bytes as classify_answer_bytes,
)
from textlens.contract.answer_size import (
    classify_result_bytes as classify_result_bytes,
)
from textlens.contract.answer_size import (
    texts_per_answer as texts_per_answer,
)
