"""The campaign form of the admin: the campaign's fields and its member list as a CSV upload."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .exceptions import MemberListError
from .models import Campaign
from .services import member_list_read


class CampaignForm(forms.ModelForm):
    members_csv = forms.FileField(
        label=gettext_lazy("Mitgliederliste (CSV)"),
        required=False,
        help_text=gettext_lazy(
            "Eine KVNR je Zeile oder eine Spalte „kvnr“; Komma oder Semikolon; UTF-8. Fehlerhafte Zeilen werden mit "
            "Zeilennummer genannt, dann wird nichts gespeichert."
        ),
    )

    class Meta:
        model = Campaign
        fields = ["name", "case_title", "template", "validity_days"]

    def clean_members_csv(self):
        upload = self.cleaned_data.get("members_csv")
        if upload is None:
            if self.instance.pk is None:
                raise forms.ValidationError(_("Bitte laden Sie die Mitgliederliste hoch."))
            return None
        try:
            return member_list_read(upload=upload)
        except MemberListError as error:
            raise forms.ValidationError(
                [
                    _("Zeile %(line)d: %(message)s") % {"line": line, "message": message} if line else message
                    for line, message in error.errors
                ]
            ) from None
