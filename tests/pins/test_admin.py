"""The call centre's read-only PIN list (pins/admin.py)."""

import pytest
from django.urls import reverse

from staff.constants import Role
from tests.factories import MemberFactory
from tests.staff.conftest import staff_client  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_pins_are_found_by_kvnr_as_typed(staff_client, issue_pin):  # noqa: F811
    member = MemberFactory()
    pin = issue_pin(member).pin
    issue_pin(MemberFactory())
    response = staff_client(Role.CALL_CENTRE).post(
        reverse("admin:pins_letterpin_changelist"),
        {"q": f"{member.kvnr[:4]} {member.kvnr[4:]}", "_search": "1"},
        follow=True,
    )
    assert list(response.context["cl"].result_list) == [pin]


def test_pin_page_never_shows_the_hash(staff_client, issue_pin):  # noqa: F811
    issued = issue_pin(MemberFactory())
    response = staff_client(Role.CALL_CENTRE).get(reverse("admin:pins_letterpin_change", args=[issued.pin.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert issued.pin.pin_hash not in html
    assert issued.plaintext not in html
