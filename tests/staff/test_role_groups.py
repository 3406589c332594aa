"""The role groups (staff/roles.py): created by the data migration, kept in line after every migrate."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.sql import emit_post_migrate_signal

from staff.constants import Role
from staff.roles import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def _codenames(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_every_role_has_a_group():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


@pytest.mark.parametrize("role", sorted(ROLE_PERMISSIONS))
def test_each_role_holds_exactly_its_permissions_after_migrate(role):
    """Also for an app migrated after staff's own migration (campaigns): the post_migrate sync completes it."""
    assert _codenames(role) == set(ROLE_PERMISSIONS[role])


def test_every_role_but_the_administrator_is_defined_in_one_list():
    assert set(Role.values) == {*ROLE_PERMISSIONS, Role.ADMINISTRATOR}


def test_no_role_may_add_change_or_delete_audit_events():
    for role in Role.values:
        assert not {"audit.add_auditevent", "audit.change_auditevent", "audit.delete_auditevent"} & _codenames(role)


def test_only_the_administrator_may_view_the_audit_log():
    assert [role for role in Role.values if "audit.view_auditevent" in _codenames(role)] == [Role.ADMINISTRATOR]


def test_administrator_gets_permissions_created_after_the_migration():
    content_type = ContentType.objects.get_for_model(Group)
    Permission.objects.create(codename="later_perm", name="later", content_type=content_type)
    emit_post_migrate_signal(0, False, "default")
    assert "auth.later_perm" in _codenames(Role.ADMINISTRATOR)


def test_roles_come_back_after_a_flush_removed_them():
    Group.objects.all().delete()
    emit_post_migrate_signal(0, False, "default")
    assert "letters.collect_letters" in _codenames(Role.PRINT_SHOP)
