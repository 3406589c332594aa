"""Tasks of core: key rotation in the background (beat runs it daily; `rotate_keys --background` hands it over)."""

import logging

from celery import shared_task

from . import rotation

logger = logging.getLogger(__name__)

# A run stops before the task's soft time limit (settings.CELERY_TASK_SOFT_TIME_LIMIT) and hands on to the next.
RUN_SECONDS = 180


@shared_task(bind=True, acks_late=True)
def keys_rotate(self, per_second: float = 20.0, after: list | None = None) -> dict[str, int]:
    """Re-encrypt what old keys sealed, for at most RUN_SECONDS; when unfinished, queue the next run, which
    starts after the last row done (`after`: [model label, pk]). A complete run from the start leaves the
    census for /metrics."""
    start_after = (after[0], int(after[1])) if after else None
    result = rotation.rotate(per_second=per_second, max_seconds=RUN_SECONDS, start_after=start_after)
    logger.info(
        "key rotation: %d objects checked, %d re-encrypted, %d failed, finished=%s",
        result.checked,
        result.rotated,
        result.failed,
        result.finished,
    )
    if not result.finished:
        position = result.position or start_after
        keys_rotate.delay(per_second=per_second, after=list(position) if position else None)
    elif start_after is not None:
        rotation.census()  # the last run of a chain saw only the end: count all for /metrics
    return {"checked": result.checked, "rotated": result.rotated, "failed": result.failed}
