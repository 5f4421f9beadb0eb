"""Superset's Celery worker without an ERROR traceback after every task.

The cause: Superset 6.1's `superset.tasks.celery_app.teardown`, a `task_postrun`
receiver, calls `db.session.remove()`. Celery sends `task_postrun` after the
task has returned, so after Superset's `AppContextTask` has left the Flask app
context, and Flask-SQLAlchemy 3 keys its sessions by app context: the call
raises "Working outside of application context", which Celery logs as an ERROR
with its traceback, once per task (every alert run, every scheduler tick).
Nothing is lost: Flask-SQLAlchemy already removed the task's session when its
app context ended. Superset fixed it upstream (apache/superset#37574: remove the
session only inside an app context), after the 6.1.0 the constraints pin.

`guard_task_teardown` applies the same rule to the pinned release: connected to
`worker_init` by textlens's generated superset_config.py (the worker has imported
Superset's Celery app by then), it swaps the receiver for one that calls it only
inside an app context. On a Superset that has the fix, it changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

#: Keeps the replacement receiver alive (Celery holds receivers weakly by default).
_GUARDED: list[Any] = []


def guard_task_teardown(**_: Any) -> None:
    """`worker_init` receiver: Superset's task teardown runs only inside an app context."""
    from celery.signals import task_postrun  # type: ignore[import-not-found]  # Superset's env
    from flask import has_app_context  # type: ignore[import-not-found]  # Superset's env
    from superset.tasks import celery_app as superset_tasks

    teardown = getattr(superset_tasks, "teardown", None)
    if teardown is None or not task_postrun.disconnect(teardown):
        return  # another Superset: no such receiver to guard

    def teardown_in_app_context(*args: Any, **kwargs: Any) -> None:
        if has_app_context():
            teardown(*args, **kwargs)

    _GUARDED.append(teardown_in_app_context)
    task_postrun.connect(teardown_in_app_context, weak=False)
    logger.info("textlens: Superset's task_postrun teardown runs only in an app context")
