"""The limit of wrong entries is shown from PIN_MAX_FAILED_ATTEMPTS wherever it appears: status label, letter."""

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from pins.constants import PinStatus
from pins.models import LetterPin


def test_the_locked_status_names_the_limit_in_force(settings):
    settings.PIN_MAX_FAILED_ATTEMPTS = 3
    assert str(PinStatus.LOCKED.label) == "gesperrt nach 3 Fehleingaben"
    assert LetterPin(status=PinStatus.LOCKED).get_status_display() == "gesperrt nach 3 Fehleingaben"
    with translation.override("en"):
        assert str(PinStatus.LOCKED.label) == "locked after 3 wrong entries"


@pytest.mark.parametrize(("language", "text"), [("de", "Wurde die PIN 3-mal falsch"), ("en", "wrongly 3 times")])
def test_the_letters_checklist_names_the_limit_in_force(settings, language, text):
    settings.PIN_MAX_FAILED_ATTEMPTS = 3
    with translation.override(language):
        html = render_to_string("letters/_how_to_log_in.html", {"age_check": False})
    assert text in html
    assert "fünf" not in html
