"""The roles created by staff's data migration."""

import pytest
from django.contrib.auth.models import Group

from staff.constants import Role

pytestmark = pytest.mark.django_db


def _codenames(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_every_role_has_a_group():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_no_role_may_add_change_or_delete_audit_events():
    for role in Role.values:
        assert not {"audit.add_auditevent", "audit.change_auditevent", "audit.delete_auditevent"} & _codenames(role)


def test_only_the_administrator_may_view_the_audit_log():
    assert [role for role in Role.values if "audit.view_auditevent" in _codenames(role)] == [Role.ADMINISTRATOR]
