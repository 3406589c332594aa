"""Every write of member master data (members/services.py) writes its audit row in the same transaction."""

import pytest

from audit.constants import ActorKind, AuditAction
from audit.models import AuditEvent
from audit.services import Actor
from members.models import Member
from members.services import (
    MemberImportError,
    member_change_address,
    member_import_rows,
    member_set_language,
    member_upsert,
)
from tests.factories import UserFactory
from tests.members.test_services import ROW

pytestmark = pytest.mark.django_db

ADDRESS = {"address_line": "", "street": "Neue Straße 1", "postcode": "50667", "town": "Köln"}


class AuditDown(Exception):
    pass


@pytest.fixture
def audit_fails(monkeypatch):
    def failing(**kwargs):
        raise AuditDown

    monkeypatch.setattr("members.services.audit_record", failing)


def _events(member=None):
    events = AuditEvent.objects.filter(action__startswith="member.")
    return list(events.filter(member=member) if member is not None else events)


def test_import_audits_a_new_member_as_the_system():
    report = member_import_rows(rows=[(2, ROW)])
    (event,) = _events()
    assert (event.action, event.member, event.actor_kind) == (AuditAction.MEMBER_IMPORTED, report.members[0], "system")


def test_import_audits_an_update_with_the_changed_fields_not_their_values():
    member_import_rows(rows=[(2, ROW)])
    member_import_rows(rows=[(2, {**ROW, "street": "Ringstraße 5", "town": "Dortmund"})])
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_UPDATED)
    assert event.data == {"fields": ["street", "town"]}
    assert "Ringstraße" not in str(event.data) and "Dortmund" not in str(event.data)


def test_an_import_that_changes_nothing_writes_no_update_row():
    member_import_rows(rows=[(2, ROW)])
    member_import_rows(rows=[(2, ROW)])
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBER_UPDATED).exists()


def test_a_failing_audit_write_leaves_no_imported_member(audit_fails):
    with pytest.raises(AuditDown):
        member_import_rows(rows=[(2, ROW)])
    assert not Member.objects.exists()
    assert _events() == []


def test_a_failing_audit_write_leaves_the_member_unchanged(member, audit_fails):
    with pytest.raises(AuditDown):
        member_upsert(kvnr=member.kvnr, data={"town": "Dortmund"})
    assert Member.objects.get(pk=member.pk).town == "Köln"


def test_a_bad_import_row_writes_no_audit_row(member):
    with pytest.raises(MemberImportError):
        member_import_rows(rows=[(2, {**ROW, "kvnr": member.kvnr, "postcode": "5114"})])
    assert _events() == []


def test_language_change_is_audited_for_the_member(member):
    member_set_language(member=member, language="en")
    (event,) = _events(member)
    assert (event.action, event.actor_kind, event.actor_user) == (
        AuditAction.MEMBER_LANGUAGE_CHANGED,
        ActorKind.MEMBER,
        member.user,
    )
    assert event.data == {"fields": ["language"]}


def test_a_failing_audit_write_leaves_the_language_unchanged(member, audit_fails):
    with pytest.raises(AuditDown):
        member_set_language(member=member, language="en")
    assert Member.objects.get(pk=member.pk).language == "de"


def test_address_change_is_audited_with_the_agent(member):
    agent = UserFactory(username="agent", is_staff=True)
    changed = member_change_address(member=member, **ADDRESS, actor=Actor.staff(agent), ip="192.0.2.7")
    assert set(changed) == {"street", "postcode"}
    (event,) = _events(member)
    assert (event.action, event.actor_user, event.ip) == (AuditAction.MEMBER_ADDRESS_CHANGED, agent, "192.0.2.7")
    assert set(event.data["changed"]) == {"street", "postcode"}


def test_an_unchanged_address_writes_no_row(member):
    address = {"address_line": "", "street": member.street, "postcode": member.postcode, "town": member.town}
    assert member_change_address(member=member, **address, actor=Actor.system()) == {}
    assert _events() == []


def test_a_failing_audit_write_leaves_the_address_unchanged(member, audit_fails):
    with pytest.raises(AuditDown):
        member_change_address(member=member, **ADDRESS, actor=Actor.system())
    assert Member.objects.get(pk=member.pk).street == "Heidestraße 17"
