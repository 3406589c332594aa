"""Admin for members: the call centre's search by KVNR, name, postcode or card validity; read-only master data."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin_mixins import ReadOnlyAdminMixin

from .dates import date_parse
from .kvnr import kvnr_is_valid, kvnr_normalize
from .models import Member


class CardValidityFilter(admin.SimpleListFilter):
    title = _("Gesundheitskarte")
    parameter_name = "karte"

    def lookups(self, request, model_admin):
        return [("valid", _("gültig")), ("expired", _("abgelaufen"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "valid":
            return queryset.filter(egk_valid_until__gte=today)
        if self.value() == "expired":
            return queryset.filter(egk_valid_until__lt=today)
        return queryset


@admin.register(Member)
class MemberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Members come from the insurer's import; here they are found and read. Changes go through services."""

    list_display = ["kvnr", "last_name", "first_name", "postcode", "town", "egk_valid_until"]
    list_display_links = ["kvnr", "last_name"]
    list_filter = [CardValidityFilter]
    search_fields = ["^kvnr", "last_name", "first_name", "^postcode"]
    search_help_text = _("KVNR, Name, Postleitzahl oder „Karte gültig bis“ als TT.MM.JJJJ")
    fields = [
        "kvnr",
        ("first_name", "last_name"),
        "address_line",
        "street",
        ("postcode", "town"),
        "egk_valid_until",
        "language",
    ]
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        kvnr = kvnr_normalize(term)
        if kvnr_is_valid(kvnr):
            return queryset.filter(kvnr=kvnr), False
        date = date_parse(term)
        if date is not None:
            return queryset.filter(egk_valid_until=date), False
        return super().get_search_results(request, queryset, search_term)
