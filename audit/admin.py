"""Admin for the audit log: administrators read, filter and export it as CSV; nobody adds, changes or deletes."""

import csv
import json
from collections.abc import Iterator

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin_mixins import ReadOnlyAdminMixin
from core.http import attachment_response

from .constants import AuditAction
from .models import AuditEvent

CSV_HEADER = ["at", "action", "action_label", "actor_kind", "actor_user", "member_kvnr", "ip", "reason", "data"]
# A cell starting with one of these would be run as a formula by a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def audit_csv_lines(queryset) -> Iterator[str]:
    """The events as CSV lines, read in chunks so that a large export does not fill memory."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    rows = queryset.select_related("actor_user", "member").order_by("-at", "-id")
    for event in rows.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(timezone.localtime(event.at).isoformat()),
                _cell(event.action),
                _cell(event.action_label),
                _cell(event.actor_kind),
                _cell(event.actor_user.get_username() if event.actor_user else ""),
                _cell(event.member.kvnr if event.member else ""),
                _cell(event.ip),
                _cell(event.reason),
                _cell(json.dumps(event.data, ensure_ascii=False, sort_keys=True)),
            ]
        )


class ActionFilter(admin.SimpleListFilter):
    title = _("Ereignis")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return AuditAction.choices

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "action_label", "actor_kind", "actor_user", "member", "ip", "reason"]
    list_filter = [ActionFilter, "actor_kind", ("at", admin.DateFieldListFilter)]
    list_select_related = ["actor_user", "member"]
    search_fields = ["=member__kvnr", "=actor_user__username", "reason"]
    date_hierarchy = "at"
    fields = ["at", "action", "actor_kind", "actor_user", "member", "ip", "reason", "data_pretty"]
    readonly_fields = fields
    actions = ["export_csv"]
    show_full_result_count = False

    @admin.display(description=_("Details"))
    def data_pretty(self, event: AuditEvent) -> str:
        return json.dumps(event.data, ensure_ascii=False, indent=2, sort_keys=True)

    @admin.action(description=_("Ausgewählte Ereignisse als CSV exportieren"), permissions=["view"])
    def export_csv(self, request, queryset):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        return attachment_response(
            audit_csv_lines(queryset), name=f"audit-{stamp}.csv", mime_type="text/csv; charset=utf-8"
        )
