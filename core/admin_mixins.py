"""Admin mixins shared by the apps' admin modules: read-only pages, and no URL lookup on a secret field."""

from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.http import HttpResponseRedirect, QueryDict

from .search_token import SEARCH_PARAM, search_token_read, search_token_store

# Fields whose value nobody may read through the admin, whatever their role: hashes and selectors of PINs, TOTP
# keys, password hashes, storage names of letter PDFs and files, capability ids in upload URLs, session keys.
# Matched by name on every model, so a new model with such a field is covered without being listed here.
SECRET_FIELD_NAMES = frozenset(
    {
        "pin_hash",
        "selector",
        "key",
        "bin_key",
        "password",
        "token",
        "secret",
        "session_key",
        "session_data",
        "pdf_name",
        "storage_name",
        "fingerprint",
        "public_id",
        "draft_public_id",
    }
)


def field_is_secret(field) -> bool:
    name = getattr(field, "name", "")
    return name in SECRET_FIELD_NAMES or name.endswith(("_hash", "_key", "_token", "_secret", "_ciphertext"))


def lookup_touches_secret(model: type[Model], lookup: str) -> bool:
    """Whether a lookup path (`pin_hash__regex`, `pins__selector`, `user__password__startswith`) reads a secret.

    The path is followed through relations; the first part that is not a field ends it (it is a lookup or a
    transform, which cannot lead to a secret field any more).
    """
    opts = model._meta
    for part in lookup.split("__"):
        if part == "pk":
            part = opts.pk.name
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return False
        if field_is_secret(field):
            return True
        related = getattr(field, "related_model", None)
        if not field.is_relation or related is None:
            return False
        opts = related._meta
    return False


class SecretLookupGuardMixin:
    """No changelist filter or popup field in the URL may name a secret field, for any role.

    Without it, Django allows a lookup on any local field (`?pin_hash__regex=^\\$argon2id\\$...`), and one
    request per character reads a hash or a TOTP key out of the changelist's yes/no answer. The staff admin
    site mixes this into every ModelAdmin it registers (staff/admin_site.py).
    """

    def lookup_allowed(self, lookup, value, request=None):
        if lookup_touches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def to_field_allowed(self, request, to_field):
        if lookup_touches_secret(self.model, to_field):
            return False
        return super().to_field_allowed(request, to_field)


class PostedSearchMixin:
    """The changelist's search box posts its term; URLs carry an opaque token instead (core.search_token).

    Posting stores the term in the session and redirects to the changelist with the other parameters and the
    token; a GET with the token searches as Django would with `q`, and every link the page builds (filters,
    pages, sorting) carries the token, never the term. A `q` in the URL is ignored. The form is
    templates/admin/search_form.html.
    """

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and "_search" in request.POST:
            query = QueryDict(mutable=True)
            for name, values in request.POST.lists():
                if name not in ("csrfmiddlewaretoken", "_search", SEARCH_VAR, SEARCH_PARAM):
                    query.setlist(name, values)
            term = request.POST.get(SEARCH_VAR, "").strip()
            if term:
                query[SEARCH_PARAM] = search_token_store(request=request, term=term)
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)
        data = request.GET.copy()
        data.pop(SEARCH_VAR, None)
        token = data.pop(SEARCH_PARAM, [""])[-1]
        term = search_token_read(request=request, token=token)
        if term:
            data[SEARCH_VAR] = term
        request.GET = data
        request.search_token = token if term else ""
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)
        token = getattr(request, "search_token", "")
        if not token:
            return changelist

        class TokenChangeList(changelist):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                # The queryset is built: from here on, links carry the token in place of the term.
                self.filter_params.pop(SEARCH_VAR, None)
                self.filter_params[SEARCH_PARAM] = [token]

        return TokenChangeList


class ReadOnlyAdminMixin:
    """An admin page that shows records but never adds, changes or deletes them (changes go through services)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
