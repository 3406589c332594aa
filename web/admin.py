"""Admin for the accessibility feedback: staff read each report, answer it and mark it done."""

from django.contrib import admin

from .models import AccessibilityFeedback


@admin.register(AccessibilityFeedback)
class AccessibilityFeedbackAdmin(admin.ModelAdmin):
    list_display = ("created_at", "page", "contact", "handled")
    list_filter = ("handled",)
    list_editable = ("handled",)
    readonly_fields = ("message", "contact", "page", "created_at")
    fields = ("created_at", "page", "contact", "message", "handled")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
