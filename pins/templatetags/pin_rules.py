"""The PIN rules' numbers for templates that other apps render (the letter's checklist), read from settings."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def pin_max_failed_attempts() -> int:
    """How many wrong entries lock a PIN (PIN_MAX_FAILED_ATTEMPTS)."""
    return settings.PIN_MAX_FAILED_ATTEMPTS
