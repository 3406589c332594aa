"""Writes for campaigns, one module a step: the member list, the campaign's life, the worker's steps, the preview.

`from campaigns.services import X` keeps working for every public name. Tasks are sent by name: nothing here
imports campaigns.tasks.
"""

from .lifecycle import (
    CANCEL_TASK,
    DISPATCH_TASK,
    campaign_cancel,
    campaign_cancel_letters,
    campaign_create,
    campaign_locked,
    campaign_pause,
    campaign_resume,
    campaign_start,
)
from .member_list import MemberList, campaign_add_members, member_list_read
from .preview import campaign_preview
from .worker import (
    campaign_batch_ready,
    campaign_chunks,
    campaign_finish_if_done,
    campaign_render_chunk,
    campaign_stalled,
)

__all__ = [
    "CANCEL_TASK",
    "DISPATCH_TASK",
    "MemberList",
    "campaign_add_members",
    "campaign_batch_ready",
    "campaign_cancel",
    "campaign_cancel_letters",
    "campaign_chunks",
    "campaign_create",
    "campaign_finish_if_done",
    "campaign_locked",
    "campaign_pause",
    "campaign_preview",
    "campaign_render_chunk",
    "campaign_resume",
    "campaign_stalled",
    "campaign_start",
    "member_list_read",
]
