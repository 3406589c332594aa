"""Searches that may hold personal data (a KVNR) travel by POST and live in the session behind an opaque token.

A GET form puts the search term in the URL, and from there into access logs, browser history and the Referer
header. Here a search form posts its term; the view stores it in the staff member's server-side session under a
random token and redirects to a URL that carries only the token, so pagination, filters and the back button
still work and no URL ever carries the term.
"""

import secrets

from django.http import HttpRequest

SEARCH_PARAM = "suche"
_SESSION_KEY = "search_tokens"
_KEEP = 20  # the latest searches of this session; older tokens simply show the unfiltered list


def search_token_store(*, request: HttpRequest, term: str) -> str:
    """Remember a search term for this session; returns the token to put in the URL instead."""
    token = secrets.token_urlsafe(9)
    stored = dict(request.session.get(_SESSION_KEY) or {})
    stored[token] = term
    request.session[_SESSION_KEY] = dict(list(stored.items())[-_KEEP:])
    return token


def search_token_read(*, request: HttpRequest, token: str | None) -> str:
    """The term behind a token of this session, or "" for no, an unknown or a foreign token."""
    if not token:
        return ""
    term = (request.session.get(_SESSION_KEY) or {}).get(token, "")
    return term if isinstance(term, str) else ""
