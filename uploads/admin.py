"""Admin for operators: the reasons members can choose; drafts and submissions are read-only here."""

from django.contrib import admin

from .models import SubmissionReason


@admin.register(SubmissionReason)
class SubmissionReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "label_de", "label_en", "active", "order")
    list_editable = ("active", "order")
    ordering = ("order", "code")
