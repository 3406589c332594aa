"""Tests for audit/models.py and audit/services.py: events are append-only and never hold secrets."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.constants import AuditAction
from audit.models import AppendOnlyError, AuditEvent
from audit.services import Actor, audit_record, audit_record_many


@pytest.fixture
def event(member):
    return audit_record(action=AuditAction.PIN_ISSUED, actor=Actor.system(), member=member, data={"pin_id": 1})


@pytest.mark.django_db
def test_event_cannot_be_changed_through_save(event):
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()


@pytest.mark.django_db
def test_event_cannot_be_deleted(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.django_db
def test_events_cannot_be_changed_in_bulk(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["reason"])


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_database_refuses_raw_update_and_delete(event):
    for sql in ("UPDATE audit_auditevent SET reason = 'x'", "DELETE FROM audit_auditevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


@pytest.mark.django_db
def test_secret_keys_are_refused_in_event_data(member):
    with pytest.raises(ValueError, match="secrets"):
        audit_record(action=AuditAction.PIN_ISSUED, actor=Actor.system(), member=member, data={"PIN": "x"})
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_many_events_are_written_with_actor_and_member(member):
    staff = member.user  # any user will do as the acting user here
    count = audit_record_many(
        action=AuditAction.PIN_EXPIRED,
        actor=Actor.staff(staff),
        entries=[(member, {"pin_id": 1}), (member.pk, {"pin_id": 2})],
    )
    assert count == 2
    assert list(AuditEvent.objects.order_by("id").values_list("member_id", "actor_kind", "data")) == [
        (member.pk, "staff", {"pin_id": 1}),
        (member.pk, "staff", {"pin_id": 2}),
    ]


@pytest.mark.django_db
def test_unknown_action_is_shown_by_its_name(member):
    event = audit_record(action="custom.thing", actor=Actor.system(), member=member)
    assert event.action_label == "custom.thing"
    assert audit_record(action=AuditAction.PIN_LOCKED, actor=Actor.system()).action_label == "PIN gesperrt"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [{"action": "x"}, {"action": "x", "actor": Actor.system(), "reasn": "typo"}],
    ids=["actor missing", "unknown field"],
)
def test_an_event_with_a_missing_or_unknown_field_is_refused(fields):
    with pytest.raises(TypeError):
        audit_record(**fields)
    assert not AuditEvent.objects.exists()
