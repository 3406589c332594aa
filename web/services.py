"""Web's own rules: the language a member gets at login, and the accessibility statement's feedback."""

from django.conf import settings

from members.models import Member
from members.services import member_set_language

from .models import AccessibilityFeedback
from .throttle import CACHE_ERRORS, cache_count


def member_language_choose(*, member: Member, chosen: str | None) -> bool:
    """Remember a language the member chose, if the portal offers it; False for anything else."""
    if chosen not in dict(settings.LANGUAGES):
        return False
    member_set_language(member=member, language=chosen)
    return True


def member_language_at_login(*, member: Member, chosen: str | None) -> str:
    """The language after login: a choice made in this browser wins and is remembered, else the member's own."""
    return chosen if member_language_choose(member=member, chosen=chosen) else member.language


FEEDBACK_PER_ADDRESS_PER_HOUR = 5


def accessibility_feedback_allowed(*, ip: str) -> bool:
    """At most a few reports an hour from one address, so the public form cannot fill the database."""
    try:
        count = cache_count(f"web:a11y-feedback:{ip}", timeout=3600)
    except CACHE_ERRORS:
        return True  # a report that reaches a person matters more than the limit while the cache is away
    return count <= FEEDBACK_PER_ADDRESS_PER_HOUR


def accessibility_feedback_create(*, message: str, contact: str = "", page: str = "") -> AccessibilityFeedback:
    """Store a reported barrier for staff to read in admin (the accessibility statement's feedback form)."""
    return AccessibilityFeedback.objects.create(message=message, contact=contact, page=page)
