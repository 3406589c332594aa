"""members.services.member_set_language: the member's remembered language."""

import pytest

from members.models import Member
from members.services import member_set_language

pytestmark = pytest.mark.django_db


def test_set_language_stores_the_choice(member):
    changed = member_set_language(member=member, language="en")

    assert changed is True
    assert Member.objects.get(pk=member.pk).language == "en"


def test_set_language_to_the_current_one_changes_nothing(member):
    assert member_set_language(member=member, language=member.language) is False


def test_set_language_refuses_an_unknown_language(member):
    with pytest.raises(ValueError):
        member_set_language(member=member, language="xx")
