"""The Celery application: configured from Django settings (CELERY_*), tasks discovered in every app.

The request id travels with every task: it is put into the message headers when a task is published and set
for the task's log lines in the worker (core/logs.py), so one id links the request and the work it caused.
"""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "portal_request_id"


@before_task_publish.connect(weak=False)
def _publish_request_id(headers=None, **kwargs):
    from core.logs import request_id_var

    request_id = request_id_var.get()
    if headers is not None and request_id and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = request_id


_tokens: dict[str, tuple] = {}


@task_prerun.connect(weak=False)
def _task_context(task_id=None, task=None, **kwargs):
    from core.logs import request_id_var, task_var

    request_id = getattr(task.request, REQUEST_ID_HEADER, None) or request_id_var.get()
    _tokens[task_id] = (request_id_var.set(request_id), task_var.set((task_id or "", task.name)))


@task_postrun.connect(weak=False)
def _task_context_end(task_id=None, **kwargs):
    from core.logs import request_id_var, task_var

    tokens = _tokens.pop(task_id, None)
    if tokens:
        try:
            request_id_var.reset(tokens[0])
            task_var.reset(tokens[1])
        except ValueError:  # set in another context (a pool that switched threads): nothing to restore there
            pass
