"""Model and form validators for member data."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .kvnr import kvnr_is_valid


def validate_kvnr(value: str) -> None:
    if not kvnr_is_valid(value):
        raise ValidationError(
            _("Die Krankenversichertennummer besteht aus einem Buchstaben und neun Ziffern, z. B. A123456780."),
            code="invalid_kvnr",
        )


def validate_postcode(value: str) -> None:
    if not (len(value) == 5 and value.isdigit() and value.isascii()):
        raise ValidationError(_("Die Postleitzahl hat fünf Ziffern."), code="invalid_postcode")
