"""Template tags the member pages use to show the member's draft."""

from django import template
from django.template.loader import render_to_string

from uploads.selectors import draft_for_member, draft_is_empty, draft_last_saved

register = template.Library()


@register.simple_tag(takes_context=True)
def draft_panel(context) -> str:
    """The dashboard's panel: the open draft (reason, files, last saved) with a link to continue, or to start."""
    request = context.get("request")
    member = getattr(request, "member", None)
    if member is None:
        return ""
    draft = draft_for_member(member=member)
    if draft is not None and draft_is_empty(draft=draft):
        # Opening the page creates the draft; with nothing in it yet there is nothing "begun" to continue.
        draft = None
    panel = {"draft": draft}
    if draft is not None:
        panel.update(file_count=draft.uploads.count(), last_saved=draft_last_saved(draft=draft))
    return render_to_string("uploads/_draft_panel.html", panel, request=request)
