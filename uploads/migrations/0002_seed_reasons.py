"""Seed the reasons a member can choose; operators add more in the admin."""

from django.db import migrations

REASONS = [
    ("certificate", "Bescheinigung", "Certificate", 10),
    ("form", "Formular", "Form", 20),
    ("income", "Einkommensnachweis", "Proof of income", 30),
    ("other", "Sonstiges", "Other", 90),
]


def seed(apps, schema_editor):
    SubmissionReason = apps.get_model("uploads", "SubmissionReason")
    for code, label_de, label_en, order in REASONS:
        SubmissionReason.objects.get_or_create(
            code=code, defaults={"label_de": label_de, "label_en": label_en, "order": order}
        )


def unseed(apps, schema_editor):
    apps.get_model("uploads", "SubmissionReason").objects.filter(code__in=[r[0] for r in REASONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("uploads", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
