"""The four staff roles as groups with their permissions.

Permissions are normally created after `migrate` (post_migrate), so they are created here first.
The administrator gets every permission that exists at this point except adding, changing or deleting audit
events (the log is append-only for everyone).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "call_centre": [
        "members.view_member",
        "members.change_member",
        "pins.view_letterpin",
        "letters.view_letterrequest",
        "letters.add_letterrequest",
        "letters.cancel_letterrequest",
    ],
    "print_shop": ["letters.collect_letters"],
    "case_worker": [
        "uploads.view_submission",
        "uploads.change_submission",
        "uploads.view_submissiondocument",
        "uploads.download_submissiondocument",
    ],
}
AUDIT_WRITES = {"add_auditevent", "change_auditevent", "delete_auditevent"}


def _create_all_permissions(apps):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def create_roles(apps, schema_editor):
    _create_all_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        permissions = []
        for name in names:
            app_label, codename = name.split(".")
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions)
    administrator, _ = Group.objects.get_or_create(name="administrator")
    administrator.permissions.set(
        Permission.objects.exclude(content_type__app_label="audit", codename__in=AUDIT_WRITES)
    )


def delete_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=[*ROLE_PERMISSIONS, "administrator"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("members", "0001_initial"),
        ("pins", "0001_initial"),
        ("audit", "0002_append_only_trigger"),
        ("letters", "0001_initial"),
        ("uploads", "0002_seed_reasons"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
