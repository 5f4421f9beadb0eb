"""Re-exported from `textlens.contract.results`, where server and client share it (the same objects)."""

from textlens.contract.results import (
    NOT_SCORED_EMPTY as NOT_SCORED_EMPTY,
)
from textlens.contract.results import (
    NOT_SCORED_LANGUAGE as NOT_SCORED_LANGUAGE,
)
from textlens.contract.results import (
    TRUNCATIONS as TRUNCATIONS,
)
from textlens.contract.results import (
    ClassifyResult as ClassifyResult,
)
from textlens.contract.results import (
    Entity as Entity,
)
from textlens.contract.results import (
    LanguageResult as LanguageResult,
)
from textlens.contract.results import (
    ModelInfo as ModelInfo,
)
from textlens.contract.results import (
    ModelReload as ModelReload,
)
from textlens.contract.results import (
    NotScored as NotScored,
)
from textlens.contract.results import (
    SentimentResult as SentimentResult,
)
from textlens.contract.results import (
    Truncation as Truncation,
)
