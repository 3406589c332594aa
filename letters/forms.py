"""Forms of the print shop's pages."""

import re

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .constants import PRINT_BATCH_MAX
from .models import LetterRequest

_REFERENCE = re.compile(r"^\s*(?:B-?)?0*(\d{1,12})\s*$", re.IGNORECASE)


class CollectForm(forms.Form):
    limit = forms.IntegerField(
        label=_("Anzahl Briefe"), min_value=1, max_value=PRINT_BATCH_MAX, initial=PRINT_BATCH_MAX
    )


class ReleaseForm(forms.Form):
    letter = forms.CharField(label=_("Zeichen des Briefs (z. B. B-00000012)"), max_length=20)

    def clean_letter(self) -> LetterRequest:
        match = _REFERENCE.match(self.cleaned_data["letter"])
        letter = LetterRequest.objects.filter(pk=int(match.group(1))).first() if match else None
        if letter is None:
            raise forms.ValidationError(_("Einen Brief mit diesem Zeichen gibt es nicht."))
        return letter


class SpecimenForm(forms.Form):
    sprache = forms.ChoiceField(choices=settings.LANGUAGES, required=False)
