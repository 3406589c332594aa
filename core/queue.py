"""Handing a task to the worker by name, so that a broker that is away is logged and waits for beat, not a 500."""

import logging

from celery import current_app
from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)
# One quick retry: the request that enqueues should not hang while Redis is away; beat picks the work up later.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}


def broker_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean "the broker is away": kombu's and the transport's own connection and channel errors."""
    connection = current_app.connection_for_write()
    return (KombuOperationalError, *connection.connection_errors, *connection.channel_errors)


def task_enqueue(*, name: str, args: tuple, what: str) -> bool:
    """Send the task `name` with `args` (ids, never secrets); False, with a warning, when the broker is away.

    The task is looked up in Celery's registry (each app's AppConfig.ready imports its tasks module, so every
    process has them), so a services module never imports its app's tasks module. Only broker errors are caught:
    with eager Celery a task's own error propagates, and an unregistered name raises, instead of being hidden.
    """
    task = current_app.tasks[name]  # outside the try: the redis transport counts KeyError among channel errors
    try:
        task.apply_async(args, retry=True, retry_policy=RETRY_POLICY)
    except broker_errors() as error:
        logger.warning("%s not enqueued (%s); the beat task will retry", what, type(error).__name__)
        return False
    return True
