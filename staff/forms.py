"""Forms of the staff side: the two-factor admin login and the call-centre and case-worker forms."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.fields import BLANK_CHOICE_DASH
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.net import client_ip
from members.models import Member
from uploads.constants import SubmissionStatus
from uploads.selectors import reason_list
from web.attack import attack_check, attack_level

from .constants import ReissuePurpose
from .selectors import staff_login_locked_until
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
    # No device chooser and no challenge button: a staff member has one authenticator app (staff/login.html).
    otp_device = None
    otp_challenge = None

    # One answer for every failed factor: a wrong password and a right password with a wrong code must read
    # alike, or the form tells a guesser when the password was right.
    failed_message = _(
        "Benutzername, Passwort oder Code stimmen nicht, oder die Prüfung ist nach Fehlversuchen vorübergehend "
        "gesperrt. Bitte prüfen Sie Ihre Eingaben und versuchen Sie es mit dem aktuellen Code aus Ihrer "
        "Authenticator-App erneut."
    )
    _FAILED_CODES = frozenset(
        {
            "invalid_login",
            "inactive",
            "invalid_token",
            "n_failed_attempts",
            "verification_not_allowed",
            "device_required",
        }
    )
    error_messages = {**OTPAdminAuthenticationForm.error_messages, "invalid_login": failed_message}
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": _("Bitte geben Sie den Code aus Ihrer Authenticator-App ein."),
        "invalid_token": failed_message,
        "n_failed_attempts": failed_message,
        "verification_not_allowed": failed_message,
        "device_required": failed_message,
    }

    def clean(self):
        # Attack mode (web/attack.py): under attack a staff login pays the same proof of work as a member's,
        # before its password is checked.
        ip = client_ip(self.request) or ""
        check = attack_check(
            level=attack_level(),
            payload=self.data.get("altcha", ""),
            ticket=self.data.get("wartemarke", ""),
            ip=ip,
        )
        self.security_check = check
        if not check.passed:
            raise ValidationError(
                _(
                    "Sicherheitsprüfung: Bitte warten Sie %(seconds)s Sekunden, geben Sie Passwort und Code noch "
                    "einmal ein und melden Sie sich dann an."
                ),
                code="security_check",
                params={"seconds": check.wait_seconds},
            )
        # A locked user name or address: refused before any password is checked (staff.services.staff_login_failed).
        locked_until = staff_login_locked_until(username=str(self.data.get("username", "")), ip=ip)
        if locked_until is not None:
            raise ValidationError(
                _(
                    "Nach mehreren fehlgeschlagenen Anmeldungen ist die Anmeldung vorübergehend gesperrt, bis "
                    "%(time)s Uhr. Die Administration kann die Sperre vorher aufheben."
                ),
                code="locked",
                params={"time": formats.time_format(timezone.localtime(locked_until), "H:i")},
            )
        # Without a code the password is not checked at all: "enter the code" must not mean "password right".
        if not self.cleaned_data.get("otp_token"):
            raise ValidationError(self.otp_error_messages["token_required"], code="token_required")
        try:
            return super().clean()
        except ValidationError as error:
            codes = {getattr(item, "code", None) for item in error.error_list}
            if codes & self._FAILED_CODES:
                raise ValidationError(self.failed_message, code="invalid_login") from None
            raise

    def _chosen_device(self, user):
        devices = _totp_devices(user, for_verify=True)
        return devices[0] if devices else None

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
        label=_("Anlass"), queryset=reason_list(with_inactive=True), required=False, to_field_name="code"
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
