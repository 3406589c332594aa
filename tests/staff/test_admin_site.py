"""The staff admin site (staff/admin_site.py): two-factor only, and the index links each role's own pages."""

import pytest
from django.urls import reverse

from staff.constants import Role
from tests.factories import MemberFactory
from tests.helpers import login_member

from .factories import STAFF_PASSWORD, make_staff, verified_client

pytestmark = pytest.mark.django_db


def test_password_only_session_does_not_open_the_admin(client):
    staff = make_staff(Role.ADMINISTRATOR)
    client.login(username=staff.user.username, password=STAFF_PASSWORD)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_password_only_session_does_not_open_the_inbox(client):
    staff = make_staff(Role.CASE_WORKER)
    client.login(username=staff.user.username, password=STAFF_PASSWORD)
    assert client.get(reverse("staff:inbox")).status_code == 302


def test_member_session_verified_by_a_letter_pin_does_not_open_staff_pages(client, issue_pin):
    login_member(client, issue_pin(MemberFactory()).pin)
    for url in (reverse("admin:index"), reverse("staff:inbox")):
        assert client.get(url).status_code == 302


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (Role.CALL_CENTRE, []),
        (Role.PRINT_SHOP, ["letters:queue"]),
        (Role.CASE_WORKER, ["staff:inbox"]),
        (Role.ADMINISTRATOR, ["staff:inbox", "letters:queue"]),
    ],
)
def test_index_links_the_roles_own_pages(role, links):
    response = verified_client(make_staff(role)).get(reverse("admin:index"))
    assert [link["url"] for link in response.context["staff_links"]] == [reverse(name) for name in links]
