"""Forms of the staff side: the two-factor admin login and the call-centre and case-worker forms."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.fields import BLANK_CHOICE_DASH
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.net import client_ip
from members.models import Member
from uploads.constants import SubmissionStatus
from uploads.models import SubmissionReason

from .constants import ReissuePurpose
from .services import staff_login_failed


def _totp_devices(user, *, for_verify: bool = False) -> list[TOTPDevice]:
    devices = TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk")
    if for_verify:
        # As django-otp does: the row lock keeps two logins from using the same code concurrently.
        devices = devices.select_for_update()
    return list(devices)


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Password plus a code from the staff member's authenticator app.

    Only confirmed TOTP devices are offered and accepted: members' letter PINs are django-otp devices too and
    must never become a second factor for the admin. A single TOTP device is chosen without asking.
    """

    otp_token = forms.CharField(
        label=_("Code aus der Authenticator-App"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    @staticmethod
    def device_choices(user):
        return BLANK_CHOICE_DASH + [(device.persistent_id, device.name) for device in _totp_devices(user)]

    def _chosen_device(self, user):
        devices = _totp_devices(user, for_verify=True)
        wanted = self.cleaned_data.get("otp_device")
        if wanted:
            return next((device for device in devices if device.persistent_id == wanted), None)
        return devices[0] if len(devices) == 1 else None

    def _verify_token(self, user, token, device=None):
        try:
            return super()._verify_token(user, token, device)
        except ValidationError:
            staff_login_failed(
                user=user, username=user.get_username(), reason="second factor", ip=client_ip(self.request)
            )
            raise


class ReissueForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Anlass"), choices=ReissuePurpose.choices)


class AddressForm(forms.ModelForm):
    """The postal address a PIN letter goes to; the model's validators check the postcode."""

    class Meta:
        model = Member
        fields = ["address_line", "street", "postcode", "town"]


class SubmissionFilterForm(forms.Form):
    q = forms.CharField(label=_("Vorgangsnummer oder KVNR"), required=False, max_length=40)
    reason = forms.ModelChoiceField(
        label=_("Anlass"), queryset=SubmissionReason.objects.all(), required=False, to_field_name="code"
    )
    status = forms.ChoiceField(
        label=_("Bearbeitungsstand"), choices=BLANK_CHOICE_DASH + SubmissionStatus.choices, required=False
    )
    date_from = forms.DateField(
        label=_("übermittelt ab"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("übermittelt bis"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class SubmissionStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Bearbeitungsstand"), choices=SubmissionStatus.choices)
    note = forms.CharField(label=_("Notiz"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
