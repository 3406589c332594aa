"""Admin for letter PINs: the call centre reads status, validity and failed attempts; never the hash."""

from django.contrib import admin

from core.admin_mixins import ReadOnlyAdminMixin
from members.kvnr import kvnr_is_valid, kvnr_normalize

from .models import LetterPin


@admin.register(LetterPin)
class LetterPinAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: PINs are issued and ended by the pins services only. The hash and selector are never shown."""

    list_display = ["member", "purpose", "status", "end_reason", "issued_at", "expires_at", "failed_attempts"]
    list_filter = ["status", "end_reason"]
    list_select_related = ["member"]
    search_fields = ["=member__kvnr"]
    fields = [
        "member",
        "purpose",
        "status",
        "end_reason",
        "issued_at",
        "expires_at",
        "ended_at",
        "failed_attempts",
        "last_login_at",
    ]
    readonly_fields = fields
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        kvnr = kvnr_normalize(search_term)
        if kvnr_is_valid(kvnr):
            return queryset.filter(member__kvnr=kvnr), False
        return super().get_search_results(request, queryset, search_term)
