"""What a remote caller may see of the server's file system: nothing absolute.

`ListModels`, `ReloadModels` and error messages used to carry absolute paths
(`/srv/textlens/registry/topics/v2`): a map of the server for anyone who can
call it. At the transport boundary a local source becomes `local:<last two
path parts>` and any absolute path inside a message is shortened the same way;
the server log keeps the full paths.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

#: An absolute POSIX path of at least two parts inside a message (quotes/spaces end it).
_ABSOLUTE = re.compile(r"(?<![\w.:/])(/[^\s'\"(),;]+(?:/[^\s'\"(),;]+)+)")


def _tail(path: str) -> str:
    parts = PurePosixPath(path).parts[1:]
    return "…/" + "/".join(parts[-2:])


def public_source(source: str) -> str:
    """builtin:NAME and hub ids as they are; a local directory as `local:<parent>/<name>`."""
    if source.startswith("builtin:") or not source.startswith(("/", "~", ".")):
        return source
    parts = PurePosixPath(source).parts
    return "local:" + "/".join(p for p in parts[-2:] if p not in ("/", "~", ".", ".."))


def redact_paths(message: str) -> str:
    """`message` with every absolute path cut to its last two parts."""
    return _ABSOLUTE.sub(lambda m: _tail(m.group(1)), message)
