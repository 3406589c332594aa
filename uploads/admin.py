"""Admin for operators: the reasons members can choose, and the quarantine (administrators only, read-only)."""

from django.contrib import admin

from audit.constants import AuditAction
from audit.services import Actor, audit_record

from .models import QuarantinedFile, SubmissionReason


@admin.register(SubmissionReason)
class SubmissionReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "label_de", "label_en", "active", "order")
    list_editable = ("active", "order")
    ordering = ("order", "code")


@admin.register(QuarantinedFile)
class QuarantinedFileAdmin(admin.ModelAdmin):
    """Files in which clamd found malware: who sent what, when, the finding; never downloadable here."""

    list_display = ("name", "member", "signature", "size", "found_at", "delete_after")
    readonly_fields = (
        "public_id",
        "member",
        "name",
        "mime_type",
        "size",
        "sha256",
        "signature",
        "found_at",
        "delete_after",
    )
    exclude = ("storage_name",)

    def has_add_permission(self, request) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        item = self.get_object(request, object_id)
        if item is not None and self.has_view_permission(request, item):
            audit_record(
                action=AuditAction.DOCUMENT_QUARANTINE_VIEWED,
                actor=Actor.staff(request.user),
                member=item.member,
                data={"document": str(item.public_id)},
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # kept for QUARANTINE_RETENTION_DAYS, then the purge task deletes it
