"""The call centre's member search (members/admin.py)."""

import datetime

import pytest
from django.urls import reverse

from staff.constants import Role
from tests.factories import MemberFactory
from tests.staff.conftest import staff_client  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:members_member_changelist")


def _found(client, term):
    response = client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


@pytest.fixture
def agent(staff_client):  # noqa: F811
    return staff_client(Role.CALL_CENTRE)


def test_kvnr_is_found_as_typed_from_the_card(agent):
    member = MemberFactory()
    MemberFactory()
    typed = f"{member.kvnr[0].lower()} {member.kvnr[1:5]}-{member.kvnr[5:]}"
    assert _found(agent, typed) == {member}


def test_member_is_found_by_last_name(agent):
    member = MemberFactory(last_name="Brückner")
    MemberFactory()
    assert _found(agent, "brückner") == {member}


def test_member_is_found_by_postcode(agent):
    member = MemberFactory(postcode="44135")
    MemberFactory()
    assert _found(agent, "44135") == {member}


def test_member_is_found_by_card_validity_date(agent):
    day = datetime.date(2031, 3, 31)
    member = MemberFactory(egk_valid_until=day)
    MemberFactory()
    assert _found(agent, "31.03.2031") == {member}


def test_member_page_has_no_save_button(agent):
    member = MemberFactory()
    response = agent.get(reverse("admin:members_member_change", args=[member.pk]))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
