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
    # The search box posts (the term stays out of the URL) and lands on the changelist with a token.
    response = client.post(CHANGELIST, {"q": term, "_search": "1"}, follow=True)
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


def test_the_search_term_never_stands_in_a_url_and_pages_keep_the_search(agent):
    member = MemberFactory()
    MemberFactory()
    response = agent.post(CHANGELIST, {"q": member.kvnr, "_search": "1", "karte": "valid"})
    location = response["Location"]
    assert member.kvnr not in location.upper()
    page = agent.get(location)
    assert set(page.context["cl"].result_list) == {member}
    html = page.content.decode()
    assert 'method="post" role="search"' in html
    links = page.context["cl"].get_query_string({"o": "1"})
    assert "suche=" in links
    assert member.kvnr not in links.upper()


def test_member_page_has_no_save_button(agent):
    member = MemberFactory()
    response = agent.get(reverse("admin:members_member_change", args=[member.pk]))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
