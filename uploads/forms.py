"""Forms of the member pages: the draft's fields and the transmission confirmation."""

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from .constants import DRAFT_FIELDS
from .models import Draft
from .selectors import reason_list

phone_validator = RegexValidator(
    r"^\+?[0-9 ()/-]{5,40}$", _("Bitte geben Sie eine Telefonnummer aus Ziffern ein, z. B. 0221 1234567.")
)
postcode_validator = RegexValidator(r"^[0-9]{5}$", _("Eine Postleitzahl hat fünf Ziffern."))


class DraftForm(forms.ModelForm):
    """The draft's fields; autosave keeps the valid ones and reports the others."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = Draft
        fields = DRAFT_FIELDS
        widgets = {"message": forms.Textarea(attrs={"rows": 6, "maxlength": 5000})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = reason_list()
        self.fields["reason"].empty_label = _("Bitte wählen")
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")
        self.fields["phone"].validators.append(phone_validator)
        self.fields["postcode"].validators.append(postcode_validator)
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.fields["email"].widget.attrs.update(autocomplete="email")
        self.fields["street"].widget.attrs.update(autocomplete="address-line1")
        self.fields["postcode"].widget.attrs.update(autocomplete="postal-code", inputmode="numeric")
        self.fields["town"].widget.attrs.update(autocomplete="address-level2")

    def valid_fields(self) -> dict:
        """The draft fields that passed validation (call after is_valid())."""
        return {name: value for name, value in self.cleaned_data.items() if name in self.Meta.fields}


class TransmitForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Ich bestätige, dass meine Angaben richtig und vollständig sind."),
        error_messages={"required": _("Bitte bestätigen Sie, dass Ihre Angaben richtig und vollständig sind.")},
    )
