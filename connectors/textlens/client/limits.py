"""Re-exported from `textlens.contract.limits`, where server and client share it (the same objects)."""

from textlens.contract.limits import (
    DEFAULT_BACKOFF as DEFAULT_BACKOFF,
)
from textlens.contract.limits import (
    DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE,
)
from textlens.contract.limits import (
    DEFAULT_RETRIES as DEFAULT_RETRIES,
)
from textlens.contract.limits import (
    DEFAULT_TARGET as DEFAULT_TARGET,
)
from textlens.contract.limits import (
    DEFAULT_TIMEOUT as DEFAULT_TIMEOUT,
)
from textlens.contract.limits import (
    MAX_BACKOFF as MAX_BACKOFF,
)
from textlens.contract.limits import (
    MAX_MESSAGE_BYTES as MAX_MESSAGE_BYTES,
)
from textlens.contract.limits import (
    SQL_TIMEOUT as SQL_TIMEOUT,
)
from textlens.contract.limits import (
    TARGET_ENV as TARGET_ENV,
)
