"""Staff services (staff/services.py): creating staff users and the demo users."""

from base64 import b32decode

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.constants import AuditAction
from audit.models import AuditEvent
from staff.constants import Role
from staff.services import staff_demo_users
from tests.staff.factories import make_staff

pytestmark = pytest.mark.django_db


def test_staff_create_is_audited_without_the_password():
    make_staff(Role.PRINT_SHOP, username="paul")
    event = AuditEvent.objects.get(action=AuditAction.STAFF_CREATED)
    assert event.data == {"username": "paul", "role": Role.PRINT_SHOP}


def test_demo_users_exist_once_per_role_with_the_returned_password_and_secret(settings):
    settings.DEBUG = True
    first = staff_demo_users()
    second = staff_demo_users()
    assert first == second
    assert sorted(role for _u, role, _p, _s in first) == sorted(Role.values)
    for username, role, password, secret in first:
        user = get_user_model().objects.get(username=username)
        assert user.is_staff and user.check_password(password)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        device = TOTPDevice.objects.get(user=user)
        assert b32decode(secret) == device.bin_key


def test_demo_users_are_refused_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured):
        staff_demo_users()
