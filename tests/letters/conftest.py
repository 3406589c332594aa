"""Fixtures for the letters tests: rendered letters, their PDFs, and staff sessions with two-factor verification."""

import django_otp
import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import storages
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import Actor
from core.crypto import read_decrypted
from letters.models import LetterRequest
from letters.services import letter_request_create
from tests.factories import UserFactory


@pytest.fixture
def request_letter(db, django_capture_on_commit_callbacks):
    """Request a letter and let the (eager) worker render it, as after a real commit."""

    def _request(member, purpose: str = "Neue PIN auf Wunsch") -> LetterRequest:
        with django_capture_on_commit_callbacks(execute=True):
            letter = letter_request_create(member=member, purpose=purpose, actor=Actor.system())
        letter.refresh_from_db()
        return letter

    return _request


@pytest.fixture
def letter_pdf():
    def _pdf(letter: LetterRequest) -> bytes:
        return read_decrypted(storage=storages["default"], name=letter.pdf_name, aad=letter.aad)

    return _pdf


def grant(user, *codenames: str):
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="letters", codename__in=codenames))
    return user


@pytest.fixture
def staff_user(db):
    def _user(*codenames: str, username: str | None = None):
        user = UserFactory(**({"username": username} if username else {}), is_staff=True)
        return grant(user, *codenames)

    return _user


@pytest.fixture
def verified_client(client):
    """Log a staff user in with a confirmed TOTP device, as after the two-factor login."""

    def _login(user):
        device = TOTPDevice.objects.create(user=user, name="Telefon", confirmed=True)
        client.force_login(user)
        session = client.session
        session[django_otp.DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return _login
