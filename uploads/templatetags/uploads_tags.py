"""Template tags the member pages use to show the member's draft."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def draft_panel(context) -> str:
    """The dashboard's panel about the member's draft; empty until the uploads app has drafts."""
    return ""
