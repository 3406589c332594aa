"""The login form: KVNR and letter PIN, parsed once and checked for their form only (the PIN engine checks the PIN)."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from members.kvnr import kvnr_is_valid, kvnr_normalize
from pins.format import ParsedPin, pin_parse
from pins.services import LoginEntry

_KVNR_FORM = re.compile(r"[A-Z][0-9]{9}")


class LoginForm(forms.Form):
    kvnr = forms.CharField(
        label=_("Krankenversichertennummer"),
        error_messages={"required": _("Bitte geben Sie Ihre Krankenversichertennummer ein.")},
    )
    pin = forms.CharField(
        label=_("Einmal-PIN"),
        strip=False,
        error_messages={"required": _("Bitte geben Sie die PIN aus Ihrem Brief ein.")},
    )

    def clean_kvnr(self) -> str:
        kvnr = kvnr_normalize(self.cleaned_data["kvnr"])
        if not _KVNR_FORM.fullmatch(kvnr):
            raise forms.ValidationError(
                _("Die Krankenversichertennummer hat 10 Stellen: einen Buchstaben und neun Ziffern."),
                code="length",
            )
        if not kvnr_is_valid(kvnr):
            raise forms.ValidationError(
                _(
                    "Diese Krankenversichertennummer gibt es so nicht. Bitte vergleichen Sie sie Zeichen für "
                    "Zeichen mit Ihrer Gesundheitskarte."
                ),
                code="invalid",
            )
        return kvnr

    def clean_pin(self) -> ParsedPin:
        parsed = pin_parse(self.cleaned_data["pin"])
        if parsed is None:
            raise forms.ValidationError(
                _(
                    "Die PIN hat 12 Zeichen, so wie sie im Brief steht: Buchstaben und Ziffern, aber nie "
                    "0, O, 1 oder I. Bindestriche und Leerzeichen dürfen Sie weglassen."
                ),
                code="invalid",
            )
        return parsed

    def entry(self) -> LoginEntry:
        """The parsed KVNR and PIN for pins.services.verification.pin_verify_entry (after is_valid)."""
        return LoginEntry(kvnr=self.cleaned_data["kvnr"], pin=self.cleaned_data["pin"])


class AccessibilityFeedbackForm(forms.Form):
    """A barrier on the portal, reported through the accessibility statement; a reply address is optional."""

    message = forms.CharField(
        label=_("Was hat nicht funktioniert?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6, "class": "input"}),
        error_messages={"required": _("Bitte beschreiben Sie, was nicht funktioniert hat.")},
    )
    page = forms.CharField(
        label=_("Auf welcher Seite? (freiwillig)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "input"}),
    )
    contact = forms.CharField(
        label=_("Wie können wir Ihnen antworten? E-Mail-Adresse oder Telefonnummer (freiwillig)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "input", "autocomplete": "email"}),
    )
