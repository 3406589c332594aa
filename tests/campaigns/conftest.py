"""Fixtures for the campaigns tests: members of every kind, a member list as a CSV, a campaigns-role client."""

import datetime
import io

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns.constants import CAMPAIGN_ROLE
from campaigns.services import campaign_create, member_list_read
from tests.factories import MemberFactory, UserFactory
from tests.helpers import login_staff


def csv_of(*lines: str, bom: bool = False) -> io.BytesIO:
    data = "\n".join(lines).encode()
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + data)


@pytest.fixture
def members(db):
    return MemberFactory.create_batch(5)


@pytest.fixture
def make_campaign(db):
    def _make(members, *, name="Familienversicherung", validity_days=60):
        members_list = member_list_read(upload=csv_of("kvnr", *[m.kvnr for m in members]))
        return campaign_create(
            name=name,
            case_title="Familienversicherung 2027",
            template="standard",
            validity_days=validity_days,
            members=members_list,
            user=None,
        )

    return _make


@pytest.fixture
def campaigns_client(db):
    """A staff user in the campaigns role, logged in with password and TOTP."""
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=CAMPAIGN_ROLE))
    device = TOTPDevice.objects.create(user=user, name="Telefon", confirmed=True)
    return login_staff(Client(), user, device)


@pytest.fixture
def expired_member(db):
    return MemberFactory(egk_valid_until=timezone.localdate() - datetime.timedelta(days=1))


@pytest.fixture
def homeless_member(db):
    return MemberFactory(street="", town="")
