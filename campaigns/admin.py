"""The campaign admin: create from a member list, counts and preview before the start, start/pause/resume/cancel,
progress that updates without reloading (a small JSON endpoint polled by static JS)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from core.http import pdf_inline_response

from .constants import CampaignStatus, SkipReason
from .exceptions import CampaignStateError
from .forms import CampaignForm
from .models import Campaign
from .selectors import campaign_batches, campaign_failures, campaign_progress
from .services import (
    campaign_add_members,
    campaign_cancel,
    campaign_create,
    campaign_pause,
    campaign_preview,
    campaign_resume,
    campaign_start,
)

ACTIONS = {"start": campaign_start, "pause": campaign_pause, "resume": campaign_resume, "cancel": campaign_cancel}


def _done_message(action: str) -> str:
    return {
        "start": _("Die Kampagne ist gestartet. Der Fortschritt erscheint unten."),
        "pause": _("Die Kampagne ist angehalten; der Worker hört nach dem aktuellen Brief auf."),
        "resume": _("Die Kampagne wird fortgesetzt."),
        "cancel": _(
            "Die Kampagne ist abgebrochen. Die PINs der noch nicht abgeholten Briefe werden beendet; "
            "bereits abgeholte Briefe bleiben gültig."
        ),
    }[action]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    change_form_template = "admin/campaigns/campaign/change_form.html"
    list_display = ["reference", "name", "case_title", "status", "recipient_count", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "case_title"]
    fields = ["name", "case_title", "template", "validity_days", "members_csv"]

    def get_fields(self, request, obj=None):
        if obj is not None and obj.status != CampaignStatus.DRAFT:
            return ["name", "case_title", "template", "validity_days", "status", "recipient_count"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != CampaignStatus.DRAFT:
            return ["name", "case_title", "template", "validity_days", "status", "recipient_count"]
        return []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        members = form.cleaned_data.get("members_csv")
        if change:
            obj.save()
            if members is not None:
                campaign_add_members(campaign=obj, members=members)
            return
        created = campaign_create(
            name=obj.name,
            case_title=obj.case_title,
            template=obj.template,
            validity_days=obj.validity_days,
            members=members,
            user=request.user,
        )
        obj.pk = created.pk
        obj.__dict__.update({key: value for key, value in created.__dict__.items() if not key.startswith("_")})
        obj._state.adding = False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/vorschau.pdf", wrap(self.preview_view), name="campaigns_campaign_preview"),
            path("<int:pk>/fortschritt.json", wrap(self.progress_view), name="campaigns_campaign_progress"),
            path("<int:pk>/aktion/", wrap(self.action_view), name="campaigns_campaign_action"),
            *super().get_urls(),
        ]

    def _campaign(self, request: HttpRequest, pk: int) -> Campaign:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(Campaign, pk=pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = Campaign.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        extra_context = extra_context or {}
        if campaign is not None:
            counts = campaign.skipped.get("counts", {})
            extra_context.update(
                progress=campaign_progress(campaign=campaign),
                skipped=[(label, counts.get(value, 0)) for value, label in SkipReason.choices],
                duplicate_lines=campaign.skipped.get("duplicate_lines", []),
                failures=campaign_failures(campaign=campaign),
                batches=campaign_batches(campaign=campaign),
                may_run=request.user.has_perm("campaigns.run_campaign"),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @method_decorator(never_cache)
    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = self._campaign(request, pk)
        return pdf_inline_response(campaign_preview(campaign_id=campaign.pk), name=f"vorschau-{campaign.reference}.pdf")

    @method_decorator(never_cache)
    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        return JsonResponse(campaign_progress(campaign=self._campaign(request, pk)))

    def action_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = self._campaign(request, pk)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
        if not request.user.has_perm("campaigns.run_campaign"):
            raise PermissionDenied
        action = ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            messages.error(request, _("Unbekannte Aktion."))
        else:
            try:
                action(campaign_id=campaign.pk, user=request.user)
            except CampaignStateError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _done_message(request.POST["action"]))
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
