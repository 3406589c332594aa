"""Admin mixins shared by the apps' admin modules: read-only pages, and no URL lookup on a secret field."""

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model

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
        "staging_name",
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


class ReadOnlyAdminMixin:
    """An admin page that shows records but never adds, changes or deletes them (changes go through services)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
