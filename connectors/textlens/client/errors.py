"""Re-exported from `textlens.contract.errors`, where server and client share it (the same objects)."""

from textlens.contract.errors import (
    AnswerTooLarge as AnswerTooLarge,
)
from textlens.contract.errors import (
    DeadlineExceeded as DeadlineExceeded,
)
from textlens.contract.errors import (
    InvalidInput as InvalidInput,
)
from textlens.contract.errors import (
    ModelLoadError as ModelLoadError,
)
from textlens.contract.errors import (
    Overloaded as Overloaded,
)
from textlens.contract.errors import (
    PermissionDenied as PermissionDenied,
)
from textlens.contract.errors import (
    ServerUnavailable as ServerUnavailable,
)
from textlens.contract.errors import (
    ShuttingDown as ShuttingDown,
)
from textlens.contract.errors import (
    TextlensError as TextlensError,
)
from textlens.contract.errors import (
    TextTooLong as TextTooLong,
)
from textlens.contract.errors import (
    TooManyTexts as TooManyTexts,
)
from textlens.contract.errors import (
    Unauthenticated as Unauthenticated,
)
from textlens.contract.errors import (
    UnknownModel as UnknownModel,
)
from textlens.contract.errors import (
    WrongTask as WrongTask,
)
