"""The audit log in admin (audit/admin.py): administrators read, filter and export it; nobody can change it."""

import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit.admin import audit_csv_lines
from audit.constants import AuditAction
from audit.models import AppendOnlyError, AuditEvent
from audit.services import Actor, audit_record
from staff.constants import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(member):
    return audit_record(action=AuditAction.PIN_FAILURE, actor=Actor.system(), member=member, ip="10.0.0.1")


def _post_action(client, event, action):
    url = reverse("admin:audit_auditevent_changelist")
    return client.post(url, {"action": action, "_selected_action": [event.pk]})


def test_administrator_sees_the_audit_log(staff_client, event):
    response = staff_client(Role.ADMINISTRATOR).get(reverse("admin:audit_auditevent_changelist"))
    assert response.status_code == 200
    assert event.member.kvnr in response.content.decode()


@pytest.mark.parametrize("role", [Role.CALL_CENTRE, Role.PRINT_SHOP, Role.CASE_WORKER])
def test_other_roles_cannot_see_the_audit_log(staff_client, event, role):
    response = staff_client(role).get(reverse("admin:audit_auditevent_changelist"))
    assert response.status_code == 403


def test_administrator_filters_by_action(staff_client, event, member):
    audit_record(action=AuditAction.PIN_ISSUED, actor=Actor.system(), member=member)
    url = reverse("admin:audit_auditevent_changelist") + "?action=pin.issued"
    response = staff_client(Role.ADMINISTRATOR).get(url)
    assert list(response.context["cl"].result_list) == list(AuditEvent.objects.filter(action="pin.issued"))


def test_change_form_is_read_only_for_the_administrator(staff_client, event):
    client = staff_client(Role.ADMINISTRATOR)
    url = reverse("admin:audit_auditevent_change", args=[event.pk])
    client.post(url, {"reason": "überschrieben", "action": "x"})
    event.refresh_from_db()
    assert event.reason == ""
    assert event.action == AuditAction.PIN_FAILURE


def test_add_is_refused_for_the_administrator(staff_client):
    response = staff_client(Role.ADMINISTRATOR).get(reverse("admin:audit_auditevent_add"))
    assert response.status_code == 403


def test_delete_is_refused_for_the_administrator(staff_client, event):
    client = staff_client(Role.ADMINISTRATOR)
    response = client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_bulk_delete_action_is_not_offered(staff_client, event):
    response = _post_action(staff_client(Role.ADMINISTRATOR), event, "delete_selected")
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert response.status_code in (200, 302)


def test_orm_save_of_an_existing_event_is_refused(event):
    event.reason = "x"
    with pytest.raises(AppendOnlyError):
        event.save()


def test_orm_delete_is_refused(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="x")


def test_raw_sql_update_is_refused_on_postgresql(event):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only (DATABASE_URL is not PostgreSQL)")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'x' WHERE id = %s", [event.pk])


def test_csv_export_action_returns_the_selected_events(staff_client, event):
    response = _post_action(staff_client(Role.ADMINISTRATOR), event, "export_csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["at", "action"]
    assert rows[1][1] == AuditAction.PIN_FAILURE
    assert rows[1][5] == event.member.kvnr


def test_csv_export_neutralises_spreadsheet_formulas(member):
    audit_record(action=AuditAction.STAFF_LOGIN_FAILED, actor=Actor.system(), reason="=HYPERLINK(1)")
    rows = list(csv.reader(io.StringIO("".join(audit_csv_lines(AuditEvent.objects.all())))))
    assert rows[1][7] == "'=HYPERLINK(1)"
