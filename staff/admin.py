"""The call centre's member page in admin: PINs, letters, submissions, story; new PIN, address, cancel a letter.

members/admin.py registers the plain member search; this subclass adds what needs the apps above members
(members may not import them), so it replaces that registration.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import Actor
from core.net import client_ip
from letters.exceptions import LetterStateError
from letters.selectors import letter_for_member
from letters.services import letter_cancel
from members.admin import MemberAdmin
from members.models import Member
from members.selectors import member_get
from members.services import member_change_address

from .constants import ReissuePurpose
from .forms import AddressForm, ReissueForm
from .models import StaffLoginLock
from .selectors import member_overview, member_pins, member_story, reissues_today
from .services import ReissueLimitReached, staff_login_lock_lift, staff_pin_reissue

STORY_PAGE_SIZE = 50

admin.site.unregister(Member)
admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):
    """django-otp's device admin without the key field, also on the add page: TOTP keys leave the database
    once, as the QR code `manage.py create_staff` prints at enrolment."""

    def get_fieldsets(self, request, obj=None):
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "key"]})
            for name, options in super().get_fieldsets(request, obj)
        ]


@admin.register(Member)
class CallCentreMemberAdmin(MemberAdmin):
    change_form_template = "staff/member/change_form.html"

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(view)

        return [
            path("<int:member_id>/neue-pin/", wrap(self.reissue_view), name="members_member_reissue"),
            path("<int:member_id>/anschrift/", wrap(self.address_view), name="members_member_address"),
            path("<int:member_id>/verlauf/", wrap(self.story_view), name="members_member_story"),
            path(
                "<int:member_id>/briefe/<int:letter_id>/stornieren/",
                wrap(self.letter_cancel_view),
                name="members_member_letter_cancel",
            ),
            *super().get_urls(),
        ]

    def _member(self, request: HttpRequest, member_id: int, *perms: str) -> Member:
        if not (self.has_view_permission(request) and request.user.has_perms(perms)):
            raise PermissionDenied
        member = member_get(member_id=member_id)
        if member is None:
            raise Http404
        return member

    def _render(self, request: HttpRequest, template: str, member: Member, title: str, **context) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "member": member,
            "title": title,
            "subtitle": str(member),
            **context,
        }
        return TemplateResponse(request, template, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        member = self.get_object(request, object_id)
        if member is not None and self.has_view_permission(request, member):
            user = request.user
            extra_context = {
                **(extra_context or {}),
                "overview": member_overview(member=member, with_letters=user.has_perm("letters.view_letterrequest")),
                "may_reissue": user.has_perm("letters.add_letterrequest"),
                "may_correct_address": user.has_perm("members.change_member"),
                "may_cancel": user.has_perm("letters.cancel_letterrequest"),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    @staticmethod
    def _back(member: Member) -> HttpResponse:
        return redirect(reverse("admin:members_member_change", args=[member.pk]))

    @staticmethod
    def _purpose_text(value: str) -> str:
        # The letter and the audit log keep the German wording whatever language the agent works in.
        with translation.override("de"):
            return str(ReissuePurpose(value).label)

    def reissue_view(self, request: HttpRequest, member_id: int) -> HttpResponse:
        member = self._member(request, member_id, "letters.add_letterrequest")
        form = ReissueForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                letter = staff_pin_reissue(
                    member=member,
                    purpose=self._purpose_text(form.cleaned_data["purpose"]),
                    actor=Actor.staff(request.user),
                    ip=client_ip(request),
                )
            except ReissueLimitReached as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("Ein neuer PIN-Brief (%(reference)s) ist angefordert; er geht an die angezeigte Anschrift.")
                    % {"reference": letter.reference},
                )
                return self._back(member)
        return self._render(
            request,
            "staff/member/reissue.html",
            member,
            _("Neue PIN senden"),
            form=form,
            reissues_today=reissues_today(member=member),
            usable_pins=sum(row.usable for row in member_pins(member=member)),
            may_correct_address=request.user.has_perm("members.change_member"),
        )

    def address_view(self, request: HttpRequest, member_id: int) -> HttpResponse:
        member = self._member(request, member_id, "members.change_member")
        form = AddressForm(request.POST or None, instance=member)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            changed = member_change_address(
                member=member,
                address_line=data["address_line"],
                street=data["street"],
                postcode=data["postcode"],
                town=data["town"],
                actor=Actor.staff(request.user),
                ip=client_ip(request),
            )
            if changed:
                messages.success(request, _("Die Anschrift ist korrigiert."))
            else:
                messages.info(request, _("Die Anschrift war schon so gespeichert."))
            return redirect(reverse("admin:members_member_reissue", args=[member.pk]))
        return self._render(request, "staff/member/address.html", member, _("Anschrift korrigieren"), form=form)

    def story_view(self, request: HttpRequest, member_id: int) -> HttpResponse:
        member = self._member(request, member_id)
        page = Paginator(member_story(member=member), STORY_PAGE_SIZE).get_page(request.GET.get("seite"))
        return self._render(request, "staff/member/story.html", member, _("Verlauf"), page=page)

    def letter_cancel_view(self, request: HttpRequest, member_id: int, letter_id: int) -> HttpResponse:
        member = self._member(request, member_id, "letters.cancel_letterrequest")
        letter = letter_for_member(member=member, letter_id=letter_id)
        if letter is None:
            raise Http404
        if request.method == "POST":
            try:
                letter_cancel(letter=letter, actor=Actor.staff(request.user))
            except LetterStateError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("Brief %(reference)s ist storniert; seine PIN gilt nicht mehr.")
                    % {"reference": letter.reference},
                )
            return self._back(member)
        return self._render(request, "staff/member/letter_cancel.html", member, _("Brief stornieren"), letter=letter)


@admin.register(StaffLoginLock)
class StaffLoginLockAdmin(admin.ModelAdmin):
    """Failed staff logins per user name and address: who is locked until when; an administrator lifts a lock."""

    list_display = ["scope", "subject", "failures", "last_failure_at", "locked_until"]
    list_filter = ["scope"]
    readonly_fields = list_display
    actions = ["lift"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description=_lazy("Sperre aufheben"), permissions=["change"])
    def lift(self, request: HttpRequest, queryset) -> None:
        for lock in queryset:
            staff_login_lock_lift(lock_id=lock.pk, actor=Actor.staff(request.user))
        self.message_user(request, _("Sperren aufgehoben: %(count)s") % {"count": len(queryset)}, messages.SUCCESS)
