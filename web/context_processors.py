"""Template context shared by every page: the insurer (name, hotline, addresses, logo, colour) from settings.INSURER."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from .brand import css_url, logo_url


def portal(request: HttpRequest) -> dict:
    insurer = settings.INSURER
    return {
        "INSURER": insurer,
        "INSURER_NAME": insurer.name,
        "HOTLINE_PHONE": insurer.hotline_phone,
        "HOTLINE_TEL": insurer.hotline_tel,
        "HOTLINE_HOURS": insurer.hotline_hours(translation.get_language() or settings.LANGUAGE_CODE),
        "BRAND_CSS_URL": css_url(),
        "LOGO_URL": logo_url(),
    }
