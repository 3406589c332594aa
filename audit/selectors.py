"""Reads of the audit log: a member's story and counts of one kind of event."""

import datetime
from typing import Any

from django.db.models import QuerySet

from .models import AuditEvent


def audit_events_for_member(*, member: Any) -> QuerySet[AuditEvent]:
    """Every audit event about the member (a members.Member), newest first, with the acting user."""
    return AuditEvent.objects.filter(member=member).select_related("actor_user").order_by("-at", "-id")


def audit_count_since(*, member: Any, action: str, since: datetime.datetime) -> int:
    """How many `action` events about the member were written at or after `since`."""
    return AuditEvent.objects.filter(member=member, action=action, at__gte=since).count()
