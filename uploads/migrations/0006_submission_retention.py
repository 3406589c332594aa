from django.db import migrations, models


def closed_at_backfill(apps, schema_editor):
    """Submissions exported or marked done before this release: the retention counts from the first export
    (its audit row) or, for one marked done, from when it was."""
    Submission = apps.get_model("uploads", "Submission")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    first: dict[str, object] = {}
    exports = AuditEvent.objects.filter(action="submission.exported").values_list("data__reference", "at")
    for reference, at in exports.iterator():
        if reference and (reference not in first or at < first[reference]):
            first[reference] = at
    done = Submission.objects.filter(status="done", status_changed_at__isnull=False)
    for reference, at in done.values_list("reference", "status_changed_at").iterator():
        if reference not in first or at < first[reference]:
            first[reference] = at
    for reference, at in first.items():
        Submission.objects.filter(reference=reference, closed_at__isnull=True).update(closed_at=at)


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0005_member_file_base"),
        ("audit", "0002_append_only_trigger"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="closed_at",
            field=models.DateTimeField(
                blank=True, db_index=True, null=True, verbose_name="exportiert oder erledigt am"
            ),
        ),
        migrations.AddField(
            model_name="submission",
            name="documents_deleted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="Dokumente gelöscht am"),
        ),
        migrations.RunPython(closed_at_backfill, migrations.RunPython.noop, elidable=True),
    ]
