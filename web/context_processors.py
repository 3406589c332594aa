"""Template context shared by every page: the hotline and the insurer's name."""

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, str]:
    return {
        "HOTLINE_PHONE": settings.HOTLINE_PHONE,
        "HOTLINE_TEL": "tel:+49" + settings.HOTLINE_PHONE.replace(" ", "")[1:],
        "INSURER_NAME": settings.INSURER_NAME,
    }
